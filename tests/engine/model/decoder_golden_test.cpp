// The CPU forward pass against HF transformers on tiny random Llama and Qwen3 models (tools/golden/), loaded both
// from the HF safetensors directory and from a GGUF copy with llama.cpp's Q/K row permutation.
#include <gtest/gtest.h>

#include <cmath>


#include "engine/routing/route_spec.h"
#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "tests/engine/support/hf_golden.h"
#include "engine/runtime/session.h"

namespace flux::engine {
namespace {

using Golden = test::HfGolden;

Golden read_golden(const std::string& arch) { return test::read_hf_golden("tiny_" + arch + "/golden.json"); }

struct Loaded {
  std::unique_ptr<Backend> backend = make_cpu_backend(2);
  std::unique_ptr<Decoder> decoder;
};

Loaded load(const std::string& relative) {
  Loaded l;
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/" + relative);
  l.decoder = std::make_unique<Decoder>(files.config(), load_decoder_weights(files, *l.backend), *l.backend);
  return l;
}

int32_t argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

class DecoderGolden : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(DecoderGolden, LogitsMatchTransformersInFullAttention) {
  const auto& [arch, path] = GetParam();
  const Golden g = read_golden(arch);
  Loaded l = load(path);
  Session session(*l.decoder, 64);
  const RoutingPlan plan = make_preset_plan("fa", l.decoder->config().n_layers, AttentionPlan{});
  const std::vector<float> logits = session.prefill_all_logits(g.prompt, plan);
  ASSERT_EQ(logits.size(), g.logits.size());
  double diff = 0.0, ref = 0.0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    diff += std::pow(static_cast<double>(logits[i]) - g.logits[i], 2);
    ref += std::pow(static_cast<double>(g.logits[i]), 2);
  }
  EXPECT_LT(std::sqrt(diff / ref), 1e-4) << path;
}

TEST_P(DecoderGolden, GreedyContinuationMatchesTransformers) {
  const auto& [arch, path] = GetParam();
  const Golden g = read_golden(arch);
  Loaded l = load(path);
  Session session(*l.decoder, 64);
  const RoutingPlan plan = make_preset_plan("fa", l.decoder->config().n_layers, AttentionPlan{});
  std::vector<int32_t> out = {argmax(session.prefill(g.prompt, plan))};
  while (out.size() < g.greedy.size()) out.push_back(argmax(session.decode(out.back())));
  EXPECT_EQ(out, g.greedy) << path;
}

// With a window and sink covering the whole prompt, every sparse mode computes exactly full attention.
TEST_P(DecoderGolden, SparseModesWithCoveringWindowEqualFullAttention) {
  const auto& [arch, path] = GetParam();
  const Golden g = read_golden(arch);
  Loaded l = load(path);
  const int n_layers = l.decoder->config().n_layers;
  Session fa_session(*l.decoder, 64);
  const std::vector<float> fa = fa_session.prefill_all_logits(g.prompt, make_preset_plan("fa", n_layers, {}));
  for (AttentionMode mode : {AttentionMode::Streaming, AttentionMode::Triangle, AttentionMode::XAttention}) {
    AttentionPlan sparse;
    sparse.mode = mode;
    sparse.threshold = 1.0f;  // XAttention keeps every causal block
    Session sa_session(*l.decoder, 64);
    const std::vector<float> sa = sa_session.prefill_all_logits(g.prompt, make_preset_plan("sa", n_layers, sparse));
    ASSERT_EQ(sa.size(), fa.size());
    for (std::size_t i = 0; i < sa.size(); ++i) ASSERT_NEAR(sa[i], fa[i], 1e-4f) << attention_mode_name(mode);
  }
}

INSTANTIATE_TEST_SUITE_P(TinyModels, DecoderGolden,
                         ::testing::Values(std::pair{"llama", "tiny_llama"},
                                           std::pair{"llama", "tiny_llama/tiny_llama.gguf"},
                                           std::pair{"qwen3", "tiny_qwen3"},
                                           std::pair{"qwen3", "tiny_qwen3/tiny_qwen3.gguf"}));

// Small windows really change the computation: a streaming run with a 4-token window differs from FA, and its
// decode reads only sink + window rows.
TEST(DecoderSparse, NarrowStreamingWindowChangesLogitsAndShrinksKv) {
  const Golden g = read_golden("llama");
  Loaded l = load("tiny_llama");
  const int n_layers = l.decoder->config().n_layers;
  AttentionPlan sparse;
  sparse.mode = AttentionMode::Streaming;
  sparse.block = 4;
  sparse.stride = 4;
  sparse.sink = 4;
  sparse.window = 4;
  Session fa(*l.decoder, 64), sa(*l.decoder, 64);
  const auto a = fa.prefill(g.prompt, make_preset_plan("fa", n_layers, sparse));
  const auto b = sa.prefill(g.prompt, make_preset_plan("sa", n_layers, sparse));
  double diff = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) diff += std::abs(a[i] - b[i]);
  EXPECT_GT(diff / static_cast<double>(a.size()), 1e-3);
  EXPECT_EQ(sa.kv_cache().slots_in_use(0), 8);
  EXPECT_EQ(fa.kv_cache().slots_in_use(0), static_cast<int64_t>(g.prompt.size()));
  EXPECT_LT(sa.kv_cache().bytes(0), fa.kv_cache().bytes(0));
}

}  // namespace
}  // namespace flux::engine
