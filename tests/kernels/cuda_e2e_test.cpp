// The end-to-end pieces of the CUDA backend: device random fill (bit-equal to the CPU's after bf16 rounding), device
// sampling (equal to sample_token_reference on the same logits), chunked prefill on the device, random-weight
// presets through the Engine, and the pool's peak-memory mark.
#include <algorithm>
#include <filesystem>
#include <numeric>

#include "engine/routing/route_spec.h"
#include "engine/backend/random_fill.h"
#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/random_weights.h"
#include "engine/model/weight_loader.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/session.h"
#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {
namespace {

TEST(CudaRandom, EqualsTheCpuValuesRoundedToBf16) {
  FLUX_REQUIRE_GPU();
  BackendPair b;
  for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {37, 129}, {4096, 1000}}) {
    const std::vector<float> gpu = fetch(*b.gpu, b.gpu->random(rows, cols, 0.0346f, 99));
    const std::vector<float> cpu = fetch(*b.cpu, b.cpu->random(rows, cols, 0.0346f, 99));
    ASSERT_EQ(gpu.size(), cpu.size());
    for (std::size_t i = 0; i < gpu.size(); ++i)
      ASSERT_EQ(gpu[i], round_bf16(cpu[i])) << rows << "x" << cols << " @" << i;
  }
}

// Logits as the device holds them (bf16), and the same values on the host.
struct Logits {
  Tensor device;
  std::vector<float> host;
};
Logits make_logits(Backend& gpu, int64_t vocab, uint32_t seed, float scale) {
  Logits l;
  l.host = random_bf16(static_cast<std::size_t>(vocab), seed, scale);
  l.device = gpu.upload(l.host, 1, vocab);
  return l;
}

TEST(CudaSampling, GreedyAndPenaltyEqualTheReference) {
  FLUX_REQUIRE_GPU();
  BackendPair b;
  for (const int64_t vocab : {int64_t{7}, int64_t{2048}, int64_t{2049}, int64_t{49152}, int64_t{151936}}) {
    for (uint32_t seed = 1; seed <= 4; ++seed) {
      const Logits l = make_logits(*b.gpu, vocab, seed, 8.0f);  // bf16 at scale 8 has many exact ties
      SampleParams p;
      EXPECT_EQ(b.gpu->sample_token(l.device, p), sample_token_reference(l.host, p)) << vocab << " " << seed;
      p.repetition_penalty = 1.5f;
      const auto top = static_cast<int32_t>(std::max_element(l.host.begin(), l.host.end()) - l.host.begin());
      p.penalized = {top, 0, static_cast<int32_t>(vocab - 1), -4, static_cast<int32_t>(vocab + 3)};
      std::sort(p.penalized.begin(), p.penalized.end());
      EXPECT_EQ(b.gpu->sample_token(l.device, p), sample_token_reference(l.host, p)) << vocab << " " << seed;
    }
  }
}

TEST(CudaSampling, TopKTopPPickEqualsTheReference) {
  FLUX_REQUIRE_GPU();
  BackendPair b;
  for (const int64_t vocab : {int64_t{300}, int64_t{151936}}) {
    for (const int top_k : {1, 2, 40, 256}) {
      for (const float top_p : {1.0f, 0.9f, 0.3f}) {
        const Logits l = make_logits(*b.gpu, vocab, static_cast<uint32_t>(top_k * 7 + vocab), 4.0f);
        SampleParams p;
        p.temperature = 0.7f;
        p.top_k = top_k;
        p.top_p = top_p;
        // Uniforms in the middle of each candidate's CDF interval (host reference), so fp32 rounding differences
        // between expf and std::exp cannot move the pick; plus 0.
        p.uniform = 0.0;
        const int32_t first = sample_token_reference(l.host, p);
        EXPECT_EQ(b.gpu->sample_token(l.device, p), first);
        int checked = 0;
        for (double u = 0.013; u < 1.0 && checked < 30; u += 0.0371) {
          p.uniform = u;
          const int32_t want = sample_token_reference(l.host, p);
          p.uniform = u + 1e-4;
          const int32_t near_hi = sample_token_reference(l.host, p);
          p.uniform = u - 1e-4;
          const int32_t near_lo = sample_token_reference(l.host, p);
          if (want != near_hi || want != near_lo) continue;  // on a boundary: skip
          p.uniform = u;
          EXPECT_EQ(b.gpu->sample_token(l.device, p), want) << vocab << " k" << top_k << " p" << top_p << " u" << u;
          ++checked;
        }
        EXPECT_GT(checked, 5);
      }
    }
  }
}

TEST(CudaSampling, FullVocabularyFallsBackToTheReference) {
  FLUX_REQUIRE_GPU();
  BackendPair b;
  const Logits l = make_logits(*b.gpu, 5000, 5, 3.0f);
  SampleParams p;
  p.temperature = 1.0f;
  p.top_k = 0;  // beyond the device limit: host path, same rule
  p.uniform = 0.42;
  EXPECT_EQ(b.gpu->sample_token(l.device, p), sample_token_reference(l.host, p));
}

TEST(CudaChunkedPrefill, MatchesOnePassOnTheDevice) {
  FLUX_REQUIRE_GPU();
  auto gpu = make_cuda_backend();
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/tiny_qwen3/tiny_qwen3.gguf");
  Decoder decoder(files.config(), load_decoder_weights(files, *gpu), *gpu);
  std::vector<int32_t> prompt(300);
  for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 61 + 7) % 256);
  for (const char* mode : {"full", "streaming", "triangle", "xattn"}) {
    AttentionPlan sparse;
    sparse.mode = parse_attention_mode(mode);
    sparse.block = 32, sparse.sink = 32, sparse.window = 64, sparse.n_last = 40, sparse.stride = 8;
    const RoutingPlan plan =
        make_preset_plan(sparse.mode == AttentionMode::Full ? "fa" : "sa", decoder.config().n_layers, sparse);
    auto run = [&](int64_t chunk) {
      Session s(decoder, 302);
      s.set_prefill_chunk(chunk);
      std::vector<float> out = s.prefill_all_logits(prompt, plan);
      const std::vector<float> step = s.decode(prompt[1]);
      out.insert(out.end(), step.begin(), step.end());
      return out;
    };
    // Same kernels on the same rows; only GEMM tiling over a different M may differ, in bf16.
    EXPECT_LT(rel_err(run(100), run(0)), 1e-2) << mode;
  }
}

TEST(CudaRandomWeights, EngineRunReportsPeakMemoryAndLogitsMatchCpu) {
  FLUX_REQUIRE_GPU();
  EngineOptions options;
  options.random_weights = "smollm2-135m";
  options.random_seed = 5;
  options.backend = "cuda";
  auto gpu = Engine::load("", options);
  options.backend = "cpu";
  auto cpu = Engine::load("", options);
  RunRequest request;
  request.prompt_tokens.resize(64);
  std::iota(request.prompt_tokens.begin(), request.prompt_tokens.end(), 100);
  request.settings.max_new_tokens = 4;
  request.prefill_chunk = 16;
  const RunReport g = gpu->run(request);
  const RunReport c = cpu->run(request);
  ASSERT_EQ(g.status, "ok");
  ASSERT_EQ(g.tokens.size(), 4u);
  // At least the weights (134.5 M bf16 parameters, one tied table) and the KV cache live in the pool.
  EXPECT_GT(g.summary.peak_memory_bytes, std::size_t{134'000'000} * 2);
  EXPECT_LT(g.summary.peak_memory_bytes, std::size_t{2} << 30);
  EXPECT_EQ(c.summary.peak_memory_bytes, 0u);
  // Same random weights on both backends (bf16 rounding aside): the prefill logits agree.
  const RoutingPlan plan = make_preset_plan("fa", 30, AttentionPlan{});
  Session sg(gpu->decoder(), 64), sc(cpu->decoder(), 64);
  EXPECT_LT(rel_err(sg.prefill(request.prompt_tokens, plan), sc.prefill(request.prompt_tokens, plan)), 3e-2);
}

}  // namespace
}  // namespace flux::engine::testing_gpu
