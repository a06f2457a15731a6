// Quantized CPU execution of the demo model (Q4_1 blocks x two-level Q8 activations) against the fp32 reference
// (--cpu-weights f32) on five texts: teacher-forced top-1 agreement over 256 positions each (>= 99 % overall), and
// greedy continuations identical for 32 tokens on at least 4 of 5 prompts. The native side runs the Q8 path in
// prefill too (forced), the one decode uses. fp32 checks a greedy continuation in one prefill: the sequences are
// identical iff fp32's argmax after every prefix is the token native chose.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <span>
#include <sstream>

#include "engine/backend/cpu/int8_gemm.h"
#include "engine/backend/cpu/weight_matmul.h"
#include "engine/routing/route_spec.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/session.h"

namespace flux::engine {
namespace {

const std::filesystem::path kSource = FLUX_SOURCE_DIR;
const std::filesystem::path kModel = kSource / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf";

std::unique_ptr<Engine> load(const std::string& cpu_weights) {
  EngineOptions o;
  o.backend = "cpu";
  o.threads = 2;
  o.default_router = false;
  o.cpu_weights = cpu_weights;
  return Engine::load(kModel, o);
}

int32_t argmax(const float* logits, int64_t n) {
  return static_cast<int32_t>(std::max_element(logits, logits + n) - logits);
}

RoutingPlan full_attention(const Engine& e) {
  return make_preset_plan("fa", e.config().n_layers, AttentionPlan{});
}

// argmax of the next-token logits after every prefix tokens[0..p].
std::vector<int32_t> top1(Engine& e, const std::vector<int32_t>& tokens) {
  Session s(e.decoder(), static_cast<int64_t>(tokens.size()));
  const std::vector<float> logits = s.prefill_all_logits(tokens, full_attention(e));
  const int64_t v = e.config().vocab_size;
  std::vector<int32_t> out;
  for (std::size_t p = 0; p < tokens.size(); ++p) out.push_back(argmax(logits.data() + p * v, v));
  return out;
}

std::vector<int32_t> greedy(Engine& e, const std::vector<int32_t>& prompt, int n) {
  Session s(e.decoder(), static_cast<int64_t>(prompt.size()) + n);
  std::vector<float> logits = s.prefill(prompt, full_attention(e));
  std::vector<int32_t> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(argmax(logits.data(), static_cast<int64_t>(logits.size())));
    if (i + 1 < n) logits = s.decode(out.back());
  }
  return out;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Teacher-forced prefills through quantized activations: the int8 GEMM that long prefills take where the CPU has
// AVX-512 VNNI, else the Q8 GEMV path (the dequantized tiles the default takes there multiply fp32 activations).
class ForceQ8 {
 public:
  ForceQ8() {
    cpu::force_gemm_path(cpu::int8_gemm_supports(DType::Q4_1, cpu::active_isa()) ? cpu::GemmPath::Int8
                                                                                   : cpu::GemmPath::Q8);
  }
  ~ForceQ8() { cpu::force_gemm_path(cpu::GemmPath::Auto); }
};

struct Fidelity {
  int agree = 0, positions = 0;    // teacher-forced top-1
  int identical = 0, prompts = 0;  // greedy continuations equal for every token
};

Fidelity measure(Engine& native, Engine& f32, std::span<const char* const> docs, int positions,
                 std::span<const char* const> prompts, int n_greedy) {
  Fidelity f;
  for (const char* doc : docs) {
    std::vector<int32_t> tokens = native.tokenizer().encode(read_text(kSource / doc), false);
    EXPECT_GE(tokens.size(), static_cast<std::size_t>(positions) + 1) << doc;
    tokens.resize(static_cast<std::size_t>(positions) + 1);
    std::vector<int32_t> q;
    {
      ForceQ8 q8;
      q = top1(native, tokens);
    }
    const std::vector<int32_t> r = top1(f32, tokens);
    int here = 0;
    for (int p = 0; p < positions; ++p) here += q[static_cast<std::size_t>(p)] == r[static_cast<std::size_t>(p)];
    std::printf("teacher-forced top-1 agreement on %s: %d / %d\n", doc, here, positions);
    f.agree += here;
    f.positions += positions;
  }
  for (const char* prompt : prompts) {
    std::vector<int32_t> ids = native.tokenizer().encode(prompt, false);
    const std::vector<int32_t> continuation = greedy(native, ids, n_greedy);
    const std::size_t n_prompt = ids.size();
    ids.insert(ids.end(), continuation.begin(), continuation.end() - 1);
    const std::vector<int32_t> r = top1(f32, ids);
    int same = 0;
    while (same < n_greedy &&
           r[n_prompt - 1 + static_cast<std::size_t>(same)] == continuation[static_cast<std::size_t>(same)])
      ++same;
    std::printf("greedy: %d / %d tokens identical after \"%s\"\n", same, n_greedy, prompt);
    f.identical += same == n_greedy;
    ++f.prompts;
  }
  return f;
}

class QuantizedFidelity : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(kModel)) GTEST_SKIP() << kModel << " missing: run tools/fetch-demo-model.sh";
    native_ = load("native");
    f32_ = load("f32");
  }
  std::unique_ptr<Engine> native_, f32_;
};

// The CI-sized check: one text, 64 positions, one 16-token continuation.
TEST_F(QuantizedFidelity, DemoModelQ4_1FollowsTheFp32Reference) {
  EXPECT_EQ(weight_execution(native_->decoder().weights(), native_->backend()), "q4_1 x q8x2 + q8_0 x q8x2");
  EXPECT_EQ(weight_execution(f32_->decoder().weights(), f32_->backend()), "f32");
  EXPECT_LT(native_->decoder().weight_bytes() * 5, f32_->decoder().weight_bytes());
  const char* docs[] = {"README.md"};
  const char* prompts[] = {"The capital of France is"};
  const Fidelity f = measure(*native_, *f32_, docs, 64, prompts, 16);
  EXPECT_GE(f.agree, 63) << f.agree << " of " << f.positions;
  EXPECT_EQ(f.identical, 1);
}

// The bar: 5 texts x 256 positions (>= 99 %), 5 prompts x 32 greedy tokens (>= 4 identical). Minutes on
// 2 cores (the forced Q8 prefill), so disabled here: bench/cpu/fidelity.sh runs it and RESULTS.md has its output.
TEST_F(QuantizedFidelity, DISABLED_DemoModelQ4_1MatchesTheFp32ReferenceOnFivePrompts) {
  const char* docs[] = {"README.md", "docs/attention.md", "docs/ARCHITECTURE.md", "docs/app.md",
                        "engine/backend/cpu_backend.cpp"};
  const char* prompts[] = {"The capital of France is", "def fibonacci(n):", "Once upon a time, in a small village,",
                           "The three primary colors are", "Water boils at a temperature of"};
  const Fidelity f = measure(*native_, *f32_, docs, 256, prompts, 32);
  EXPECT_GE(f.agree * 100, f.positions * 99) << f.agree << " of " << f.positions;
  EXPECT_GE(f.identical, 4);
}

}  // namespace
}  // namespace flux::engine
