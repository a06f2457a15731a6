// Chunked prefill (Session::set_prefill_chunk) computes what the one-pass prefill computes, in FA and every SA mode:
// the logits of every prompt position and the decode steps after it (which read the KV cache the chunks wrote,
// including the streaming ring built from it). Chunks deliberately do not align with attention blocks.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <ostream>
#include <random>

#include "engine/routing/route_spec.h"
#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/runtime/session.h"

namespace flux::engine {
namespace {

struct Case {
  std::string model;  // relative to tests/data, or "demo"
  std::string mode;   // "fa", "streaming", "triangle", "xattn", "mix" (every other layer streaming)
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.model << " " << c.mode;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string m = info.param.model == "demo" ? "demo" : info.param.model.substr(0, info.param.model.find('/'));
  return m + "_" + info.param.mode;
}

std::filesystem::path model_path(const std::string& model) {
  if (model == "demo") return std::filesystem::path(FLUX_SOURCE_DIR) / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf";
  return std::filesystem::path(FLUX_TEST_DATA_DIR) / model;
}

// Each model is loaded once for all its modes (the demo model takes a while to dequantize).
Decoder& loaded(const std::filesystem::path& path) {
  struct Model {
    std::unique_ptr<Backend> backend = make_cpu_backend(2);
    std::unique_ptr<Decoder> decoder;
  };
  static std::map<std::string, Model> cache;
  Model& m = cache[path.string()];
  if (!m.decoder) {
    const ModelFiles files = ModelFiles::open(path);
    // fp32 weights: the comparison below is tight (only GEMM blocking may differ), and quantized execution rounds
    // activations to Q8, where a last-bit difference can flip a rounding (quantized_fidelity_test covers that).
    m.decoder = std::make_unique<Decoder>(
        files.config(), load_decoder_weights(files, *m.backend, {}, nullptr, WeightStorage::F32), *m.backend);
  }
  return *m.decoder;
}

struct Outputs {
  std::vector<float> logits;   // [n, vocab]
  std::vector<float> decoded;  // logits of the decode steps, concatenated
  std::vector<std::size_t> kv_bytes;
};

class ChunkedPrefill : public ::testing::TestWithParam<Case> {};

TEST_P(ChunkedPrefill, MatchesOnePassPrefill) {
  const Case& c = GetParam();
  const std::filesystem::path path = model_path(c.model);
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " is missing: run tools/fetch-demo-model.sh";
  const bool demo = c.model == "demo";
  Decoder& decoder = loaded(path);
  const ModelConfig& cfg = decoder.config();

  // Small SA parameters so every mode drops keys inside this prompt; chunk is not a multiple of the block.
  AttentionPlan sparse;
  sparse.block = demo ? 32 : 16;
  sparse.sink = demo ? 16 : 4;
  sparse.window = demo ? 32 : 16;
  sparse.n_last = demo ? 16 : 8;
  sparse.stride = demo ? 8 : 4;
  sparse.threshold = 0.8f;
  const int64_t n = demo ? 120 : 90;
  const int64_t chunk = demo ? 48 : 25;
  RoutingPlan plan;
  if (c.mode == "fa") {
    plan = make_preset_plan("fa", cfg.n_layers, sparse);
  } else {
    sparse.mode = parse_attention_mode(c.mode == "mix" ? "streaming" : c.mode);
    plan = make_preset_plan(c.mode == "mix" ? "every-other" : "sa", cfg.n_layers, sparse);
  }

  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> token(0, cfg.vocab_size - 1);
  std::vector<int32_t> prompt(static_cast<std::size_t>(n));
  for (auto& t : prompt) t = token(rng);

  auto run = [&](int64_t prefill_chunk) {
    Session session(decoder, n + 3);
    session.set_prefill_chunk(prefill_chunk);
    Outputs r;
    r.logits = session.prefill_all_logits(prompt, plan);
    for (int32_t t : {prompt[3], prompt[5], prompt[8]}) {
      const std::vector<float> step = session.decode(t);
      r.decoded.insert(r.decoded.end(), step.begin(), step.end());
    }
    for (int l = 0; l < cfg.n_layers; ++l) r.kv_bytes.push_back(session.kv_cache().bytes(l));
    return r;
  };
  const Outputs whole = run(0);
  const Outputs chunked = run(chunk);

  ASSERT_EQ(chunked.logits.size(), whole.logits.size());
  ASSERT_EQ(chunked.decoded.size(), whole.decoded.size());
  // Same arithmetic, rows split differently: only GEMM blocking may differ, so the tolerance is tight.
  auto max_rel = [](const std::vector<float>& a, const std::vector<float>& b) {
    double diff = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
      scale = std::max(scale, std::abs(static_cast<double>(b[i])));
    }
    return diff / scale;
  };
  EXPECT_LT(max_rel(chunked.logits, whole.logits), 1e-4);
  EXPECT_LT(max_rel(chunked.decoded, whole.decoded), 1e-4);
  EXPECT_EQ(chunked.kv_bytes, whole.kv_bytes);
  // The rows differ between positions (a chunk bug that repeats one chunk's rows would not be caught otherwise).
  const auto vocab = static_cast<std::size_t>(cfg.vocab_size);
  EXPECT_NE(std::vector<float>(whole.logits.begin(), whole.logits.begin() + static_cast<std::ptrdiff_t>(vocab)),
            std::vector<float>(whole.logits.end() - static_cast<std::ptrdiff_t>(vocab), whole.logits.end()));
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const std::string model : {"tiny_llama/tiny_llama.gguf", "tiny_qwen3/tiny_qwen3.gguf", "demo"})
    for (const std::string mode : {"fa", "streaming", "triangle", "xattn", "mix"}) out.push_back({model, mode});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Models, ChunkedPrefill, ::testing::ValuesIn(cases()), case_name);

// The SA modes really differ from FA on these prompts, so the comparisons above are not FA against FA.
TEST(ChunkedPrefillSetup, SparseModesChangeTheLogits) {
  auto backend = make_cpu_backend(2);
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/tiny_llama/tiny_llama.gguf");
  Decoder decoder(files.config(), load_decoder_weights(files, *backend), *backend);
  std::vector<int32_t> prompt(90);
  for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 37 + 11) % 256);
  AttentionPlan sparse;
  sparse.block = 16, sparse.sink = 4, sparse.window = 16, sparse.n_last = 8;
  const int n_layers = decoder.config().n_layers;
  Session fa(decoder, 90);
  const std::vector<float> full = fa.prefill_all_logits(prompt, make_preset_plan("fa", n_layers, sparse));
  for (const char* mode : {"streaming", "triangle"}) {
    sparse.mode = parse_attention_mode(mode);
    Session sa(decoder, 90);
    EXPECT_NE(sa.prefill_all_logits(prompt, make_preset_plan("sa", n_layers, sparse)), full) << mode;
  }
}

TEST(ChunkedPrefillSetup, NegativeChunkIsAClearError) {
  auto backend = make_cpu_backend(1);
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/tiny_llama/tiny_llama.gguf");
  Decoder decoder(files.config(), load_decoder_weights(files, *backend), *backend);
  Session session(decoder, 8);
  EXPECT_THROW(session.set_prefill_chunk(-1), Error);
}

}  // namespace
}  // namespace flux::engine
