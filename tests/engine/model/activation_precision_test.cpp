// Where one-level Q8 activations hurt the demo model's prefill, and which finer schemes would not: the teacher-forced
// measurement of quantized_fidelity_test.cpp (5 texts x 256 positions, top-1 against the fp32 reference), with each
// projection's activations first rounded by an emulated scheme (cpu::set_activation_filter) and then multiplied by the
// two-level int8 GEMM, which is exact to ~1/65,000 of a block's maximum -- so a scheme needs no kernel to be measured.
// A measurement, not a check (disabled; run on purpose, minutes):
//   build/tests/flux_engine_tests --gtest_also_run_disabled_tests --gtest_filter='ActivationPrecision.*'
// The emulation is checked against the real one-level kernel in the table's "one level (kernel)" row.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "engine/backend/cpu/int8_gemm.h"
#include "engine/backend/cpu/weight_matmul.h"
#include "engine/routing/route_spec.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/session.h"

namespace flux::engine {
namespace {

const std::filesystem::path kSource = FLUX_SOURCE_DIR;
const std::filesystem::path kModel = kSource / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf";

enum class Scheme : uint8_t { Exact, Q8Block32, Q8Block16, Q8Block32Outlier };
// The projections: qkv (normed rows), o (attention output, 576 columns), gate/up (normed rows), down (SwiGLU output,
// 1,536 columns).
enum Proj : uint8_t { kQkv, kO, kGateUp, kDown };
std::array<Scheme, 4> g_schemes{};

// x rounded as one Q8 level with one scale per `block` values; with `outlier`, the block's largest |x| is kept
// exact and the scale comes from the rest (what per-block outlier handling would buy).
void round_blocks(float* x, int64_t n, int block, bool outlier) {
  for (int64_t b = 0; b < n; b += block) {
    float* v = x + b;
    int top = 0;
    for (int j = 1; j < block; ++j)
      if (std::fabs(v[j]) > std::fabs(v[top])) top = j;
    float amax = 0.0f;
    for (int j = 0; j < block; ++j)
      if (!outlier || j != top) amax = std::max(amax, std::fabs(v[j]));
    if (amax == 0.0f) continue;
    const float d = amax / 127.0f;
    for (int j = 0; j < block; ++j)
      if (!outlier || j != top) v[j] = d * std::nearbyint(v[j] / d);
  }
}

void emulate(cpu::ProductKind kind, float* x, int64_t rows, int64_t cols) {
  Proj p = kDown;
  if (kind == cpu::ProductKind::Qkv)
    p = kQkv;
  else if (kind == cpu::ProductKind::GateUp)
    p = kGateUp;
  else if (kind == cpu::ProductKind::ResidualAdd)
    p = cols == 576 ? kO : kDown;  // the demo model's attention output; its SwiGLU output has 1,536
  else
    return;
  const Scheme s = g_schemes[p];
  if (s == Scheme::Exact) return;
  const int block = s == Scheme::Q8Block16 ? 16 : 32;
  for (int64_t r = 0; r < rows; ++r) round_blocks(x + r * cols, cols, block, s == Scheme::Q8Block32Outlier);
}

std::unique_ptr<Engine> load(const std::string& cpu_weights) {
  EngineOptions o;
  o.backend = "cpu";
  o.threads = 2;
  o.default_router = false;
  o.cpu_weights = cpu_weights;
  return Engine::load(kModel, o);
}

std::vector<float> all_logits(Engine& e, const std::vector<int32_t>& tokens) {
  Session s(e.decoder(), static_cast<int64_t>(tokens.size()));
  return s.prefill_all_logits(tokens, make_preset_plan("fa", e.config().n_layers, AttentionPlan{}));
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Config {
  const char* name;
  std::array<Scheme, 4> schemes;  // qkv, o, gate/up, down
  bool kernel_one_level = false;  // the real one-level int8 GEMM everywhere instead of an emulation
};

struct Score {
  int agree = 0, positions = 0;
  double rel_err = 0.0;  // mean over positions of |logits - ref| / |ref - mean(ref)|
};

TEST(ActivationPrecision, DISABLED_TeacherForcedTop1PerProjectionAndScheme) {
  if (!std::filesystem::exists(kModel)) GTEST_SKIP() << kModel << " missing: run tools/fetch-demo-model.sh";
  if (!cpu::int8_gemm_supports(DType::Q4_1, cpu::active_isa())) GTEST_SKIP() << "needs the AVX-512 VNNI int8 GEMM";
  constexpr Scheme E = Scheme::Exact, Q = Scheme::Q8Block32, H = Scheme::Q8Block16, O = Scheme::Q8Block32Outlier;
  const Config configs[] = {
      {"two levels (kernel)", {E, E, E, E}},
      {"one level (kernel)", {E, E, E, E}, true},
      {"q8/32 everywhere", {Q, Q, Q, Q}},
      {"q8/32 qkv", {Q, E, E, E}},
      {"q8/32 o", {E, Q, E, E}},
      {"q8/32 gate/up", {E, E, Q, E}},
      {"q8/32 down", {E, E, E, Q}},
      {"q8/32 qkv + gate/up", {Q, E, Q, E}},
      {"q8/32 qkv + o + gate/up", {Q, Q, Q, E}},
      {"q8/16 everywhere", {H, H, H, H}},
      {"q8/16 qkv + gate/up", {H, E, H, E}},
      {"q8/32+outlier everywhere", {O, O, O, O}},
      {"q8/32+outlier qkv + gate/up", {O, E, O, E}},
      {"q8/16 qkv + gate/up, q8/32+outlier o", {H, O, H, E}},
  };
  auto native = load("native");
  auto f32 = load("f32");
  const int64_t vocab = native->config().vocab_size;
  const char* docs[] = {"README.md", "docs/attention.md", "docs/ARCHITECTURE.md", "docs/app.md",
                        "engine/backend/cpu_backend.cpp"};
  constexpr int kPositions = 256;
  std::vector<Score> scores(std::size(configs));
  cpu::force_gemm_path(cpu::GemmPath::Int8);
  for (const char* doc : docs) {
    std::vector<int32_t> tokens = native->tokenizer().encode(read_text(kSource / doc), false);
    ASSERT_GE(tokens.size(), static_cast<std::size_t>(kPositions)) << doc;
    tokens.resize(kPositions);
    cpu::force_gemm_path(cpu::GemmPath::Auto);
    const std::vector<float> ref = all_logits(*f32, tokens);
    cpu::force_gemm_path(cpu::GemmPath::Int8);
    for (std::size_t c = 0; c < std::size(configs); ++c) {
      g_schemes = configs[c].schemes;
      cpu::set_activation_filter(emulate);
      if (configs[c].kernel_one_level) cpu::force_residual_activations(false);
      const std::vector<float> got = all_logits(*native, tokens);
      cpu::set_activation_filter(nullptr);
      cpu::force_residual_activations(std::nullopt);
      for (int p = 0; p < kPositions; ++p) {
        const float* r = ref.data() + p * vocab;
        const float* g = got.data() + p * vocab;
        double mean = 0.0, diff = 0.0, spread = 0.0;
        for (int64_t i = 0; i < vocab; ++i) mean += r[i];
        mean /= static_cast<double>(vocab);
        for (int64_t i = 0; i < vocab; ++i) {
          diff += (g[i] - r[i]) * static_cast<double>(g[i] - r[i]);
          spread += (r[i] - mean) * (r[i] - mean);
        }
        scores[c].agree += std::max_element(r, r + vocab) - r == std::max_element(g, g + vocab) - g;
        scores[c].rel_err += std::sqrt(diff / spread);
        ++scores[c].positions;
      }
    }
  }
  cpu::force_gemm_path(cpu::GemmPath::Auto);
  std::printf("| activations of the prefill (rest: two levels) | teacher-forced top-1 | mean logit rel. error |\n");
  std::printf("|---|---:|---:|\n");
  for (std::size_t c = 0; c < std::size(configs); ++c)
    std::printf("| %s | %d / %d | %.2e |\n", configs[c].name, scores[c].agree, scores[c].positions,
                scores[c].rel_err / scores[c].positions);
  // The emulation stands in for the kernel only if both give the same precision.
  EXPECT_NEAR(scores[1].rel_err, scores[2].rel_err, 0.25 * scores[1].rel_err);
}

}  // namespace
}  // namespace flux::engine
