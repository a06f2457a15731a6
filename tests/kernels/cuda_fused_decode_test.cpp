// The fused decode kernels (issue 18): QK-norm + RoPE + KV store in one launch (kernels/decode_fused.cu) and the
// layer norms folded into the decode GEMVs (kernels/gemv.cu, kernels/quant_gemv.cu), each against the unfused CUDA
// ops they replace (Backend's composing defaults, called explicitly) and against the CPU backend; then whole decodes
// fused vs unfused (FLUX_CUDA_FUSED=0) on tiny models: same greedy tokens, close logits.
#include <algorithm>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>

#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/random_weights.h"
#include "engine/model/weight_loader.h"
#include "tests/engine/support/decoder_run.h"
#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {
namespace {

// |a - b| within a bf16 step of b plus one of the largest |b|: what one rounding flip of a normalised value (the
// fused kernels sum the squares in another order) moves a rotated pair by; a missing norm, rotation or weight moves
// values by O(|b|).
bool within_bf16_steps(const std::vector<float>& a, const std::vector<float>& b, std::string* where) {
  if (a.size() != b.size()) return false;
  float max_abs = 0.0f;
  for (const float v : b) max_abs = std::max(max_abs, std::fabs(v));
  const double step = std::ldexp(1.0, -7);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double tol = step * (std::fabs(b[i]) + max_abs);
    if (!(std::fabs(static_cast<double>(a[i]) - b[i]) <= tol)) {
      *where = "index " + std::to_string(i) + ": " + std::to_string(a[i]) + " vs " + std::to_string(b[i]);
      return false;
    }
  }
  return true;
}

RopeTable make_rope(int head_dim, double theta, float attention_scale, bool dynamic) {
  RopeTable t;
  for (int i = 0; i < head_dim / 2; ++i) t.inv_freq.push_back(rope_inv_freq(theta, i, head_dim));
  t.attention_scale = attention_scale;
  if (dynamic) t.dynamic = RopeDynamicNtk{theta, 4.0, 64, head_dim};
  return t;
}

struct InputsCase {
  const char* name;
  int n_heads, n_kv_heads, head_dim;
  bool qk_norm;
};

// One backend's run of attention_inputs_step (or of the unfused ops, `unfused`) on fresh copies of the inputs.
struct InputsResult {
  std::vector<float> q, k, cache_k, cache_v;
};

InputsResult run_inputs(Backend& b, bool unfused, const InputsCase& c, const RopeTable& rope, const KvLayout& layout,
                        int64_t rows, int64_t pos, uint32_t seed) {
  const int64_t q_cols = int64_t{c.n_heads} * c.head_dim, kv_cols = int64_t{c.n_kv_heads} * c.head_dim;
  const auto n = [](int64_t v) { return static_cast<std::size_t>(v); };
  Tensor q = b.upload(random_bf16(n(q_cols), seed, 3.0f), 1, q_cols);
  Tensor k = b.upload(random_bf16(n(kv_cols), seed + 1, 3.0f), 1, kv_cols);
  const Tensor v = b.upload(random_bf16(n(kv_cols), seed + 2, 3.0f), 1, kv_cols);
  Tensor cache_k = b.upload(random_bf16(n(rows * kv_cols), seed + 3), rows, kv_cols);
  Tensor cache_v = b.upload(random_bf16(n(rows * kv_cols), seed + 4), rows, kv_cols);
  const Tensor q_norm = b.upload(random_bf16(n(c.head_dim), seed + 5, 2.0f), 1, c.head_dim);
  const Tensor k_norm = b.upload(random_bf16(n(c.head_dim), seed + 6, 2.0f), 1, c.head_dim);
  const Backend::QkNorm norm = c.qk_norm ? Backend::QkNorm{&q_norm, &k_norm, 1e-6f} : Backend::QkNorm{};
  DecodeStep step = b.make_decode_step();
  b.set_decode_step(step, 0, pos);
  if (unfused) {
    b.Backend::attention_inputs_step(q, k, v, norm, step, rope, layout, cache_k, cache_v);
  } else {
    b.attention_inputs_step(q, k, v, norm, step, rope, layout, cache_k, cache_v);
  }
  return InputsResult{fetch(b, q), fetch(b, k), fetch(b, cache_k), fetch(b, cache_v)};
}

TEST(CudaFusedDecode, AttentionInputsStepMatchesTheUnfusedOpsAndTheCpu) {
  FLUX_REQUIRE_GPU();
  BackendPair p;
  const InputsCase cases[] = {
      {"qwen3-8b shape, QK-norm", 32, 8, 128, true},
      {"llama shape, no QK-norm", 9, 3, 64, false},
      {"odd heads, head dim 80, QK-norm", 7, 1, 80, true},
      {"MHA, head dim 16, QK-norm", 3, 3, 16, true},
  };
  struct Rope {
    const char* name;
    RopeTable table;
  };
  for (const InputsCase& c : cases) {
    const Rope ropes[] = {{"plain", make_rope(c.head_dim, 1e6, 1.0f, false)},
                          {"scaled (yarn mscale)", make_rope(c.head_dim, 1e4, 1.25f, false)},
                          {"dynamic NTK", make_rope(c.head_dim, 1e4, 1.0f, true)}};
    for (const Rope& rope : ropes) {
      for (const KvLayout layout : {KvLayout{}, KvLayout{4, 16}}) {
        const int64_t rows = layout.ring() ? layout.sink + layout.window : 5000;
        for (const int64_t pos : {int64_t{0}, int64_t{1}, int64_t{37}, int64_t{63}, int64_t{64}, int64_t{4999}}) {
          const auto seed = static_cast<uint32_t>(pos * 13 + c.head_dim + c.n_heads);
          const std::string what = std::string(c.name) + ", " + rope.name + ", window " +
                                   std::to_string(layout.window) + ", pos " + std::to_string(pos);
          const InputsResult fused = run_inputs(*p.gpu, false, c, rope.table, layout, rows, pos, seed);
          const InputsResult unfused = run_inputs(*p.gpu, true, c, rope.table, layout, rows, pos, seed);
          const InputsResult cpu = run_inputs(*p.cpu, false, c, rope.table, layout, rows, pos, seed);
          std::string where;
          if (!c.qk_norm) {  // then the fused kernel does the unfused arithmetic exactly
            EXPECT_EQ(fused.q, unfused.q) << what;
            EXPECT_EQ(fused.cache_k, unfused.cache_k) << what;
          }
          EXPECT_TRUE(within_bf16_steps(fused.q, unfused.q, &where)) << what << " q " << where;
          EXPECT_TRUE(within_bf16_steps(fused.k, unfused.k, &where)) << what << " k " << where;
          EXPECT_TRUE(within_bf16_steps(fused.cache_k, unfused.cache_k, &where)) << what << " cache k " << where;
          // v moves unchanged, and only the step's row of either cache changes.
          EXPECT_EQ(fused.cache_v, unfused.cache_v) << what;
          const int64_t kv_cols = int64_t{c.n_kv_heads} * c.head_dim, slot = layout.slot_of(pos);
          EXPECT_TRUE(std::equal(fused.k.begin(), fused.k.end(), fused.cache_k.begin() + slot * kv_cols)) << what;
          for (int64_t r = 0; r < rows; r += std::max<int64_t>(1, rows / 64)) {
            if (r == slot) continue;
            EXPECT_TRUE(std::equal(fused.cache_k.begin() + r * kv_cols, fused.cache_k.begin() + (r + 1) * kv_cols,
                                   cpu.cache_k.begin() + r * kv_cols))
                << what << " row " << r;
          }
          EXPECT_LT(rel_err(fused.q, cpu.q), 1e-2) << what;
          EXPECT_LT(rel_err(fused.k, cpu.k), 1e-2) << what;
          EXPECT_LT(rel_err(fused.cache_v, cpu.cache_v), 1e-6) << what;
        }
      }
    }
  }
}

// The layer-norm GEMVs: norm_matmul_qkv / _swiglu / norm_matmul on bf16 weights (1..4 rows; 5 falls back to
// cuBLASLt) and on block weights (one row), against the composed rms_norm + matmul on the same device and the CPU.
TEST(CudaFusedDecode, NormGemvsMatchTheComposedOps) {
  FLUX_REQUIRE_GPU();
  BackendPair p;
  struct Shape {
    int64_t in, q, kv, ffn;
  };
  const Shape shapes[] = {{4096, 4096, 1024, 1536}, {576, 576, 192, 1536}, {1024, 2048, 256, 512}};
  const StorageType types[] = {StorageType::F32, StorageType::Q4_K, StorageType::Q8_0, StorageType::Q6_K};
  for (const Shape& s : shapes) {
    for (const StorageType type : types) {
      if (type != StorageType::F32 && s.in % 256 != 0) continue;  // K-quants need whole 256-value blocks
      auto weight = [&](Backend& b, int64_t rows, uint64_t seed) {
        return type == StorageType::F32 ? b.random(rows, s.in, 0.05f, seed)
                                        : b.random_weight(rows, s.in, 0.05f, seed, type);
      };
      for (const int64_t n : {int64_t{1}, int64_t{2}, int64_t{4}, int64_t{5}}) {
        if (type != StorageType::F32 && n > 1) continue;  // block-weight GEMVs are one-row only
        const std::string what =
            std::string(storage_type_name(type)) + " in " + std::to_string(s.in) + " rows " + std::to_string(n);
        const auto x = random_bf16(static_cast<std::size_t>(n * s.in), static_cast<uint32_t>(s.in + n), 4.0f);
        const auto g = random_bf16(static_cast<std::size_t>(s.in), static_cast<uint32_t>(s.in + 7), 2.0f);
        struct Out {
          std::vector<float> q, k, v, act, logits;
        };
        auto run = [&](Backend& b, bool composed) {
          const Tensor xt = b.upload(x, n, s.in), gt = b.upload(g, 1, s.in);
          const Tensor wq = weight(b, s.q, 1), wk = weight(b, s.kv, 2), wv = weight(b, s.kv, 3);
          const Tensor gate = weight(b, s.ffn, 4), up = weight(b, s.ffn, 5), head = weight(b, 3 * s.kv, 6);
          Tensor q = poisoned(b, n, s.q), k = poisoned(b, n, s.kv), v = poisoned(b, n, s.kv);
          Tensor act = poisoned(b, n, s.ffn), logits = poisoned(b, n, 3 * s.kv);
          if (composed) {
            b.Backend::norm_matmul_qkv(xt, gt, 1e-5f, wq, wk, wv, q, k, v);
            b.Backend::norm_matmul_swiglu(xt, gt, 1e-5f, gate, up, act);
            b.Backend::norm_matmul(xt, gt, 1e-5f, head, logits);
          } else {
            b.norm_matmul_qkv(xt, gt, 1e-5f, wq, wk, wv, q, k, v);
            b.norm_matmul_swiglu(xt, gt, 1e-5f, gate, up, act);
            b.norm_matmul(xt, gt, 1e-5f, head, logits);
          }
          return Out{fetch(b, q), fetch(b, k), fetch(b, v), fetch(b, act), fetch(b, logits)};
        };
        const Out fused = run(*p.gpu, false), composed = run(*p.gpu, true), cpu = run(*p.cpu, false);
        // Block weights: the same GEMV on the same normalised values but for a rare rounding flip of the norm.
        // bf16 weights: the fused GEMV scales an fp32 dot product where the composed one reads the norm's bf16
        // output, ~1e-3 apart. Both bounds are far below a missing or doubled norm factor (O(1)).
        const double near = type == StorageType::F32 ? 5e-3 : 1e-3;
        EXPECT_LT(rel_err(fused.q, composed.q), near) << what << " q";
        EXPECT_LT(rel_err(fused.k, composed.k), near) << what << " k";
        EXPECT_LT(rel_err(fused.v, composed.v), near) << what << " v";
        EXPECT_LT(rel_err(fused.act, composed.act), near) << what << " swiglu";
        EXPECT_LT(rel_err(fused.logits, composed.logits), near) << what << " norm_matmul";
        // The CPU quantizes x for block weights differently (or not at all): bf16-level agreement.
        const double tol = type == StorageType::F32 ? 1e-2 : 3e-2;
        EXPECT_LT(rel_err(fused.q, cpu.q), tol) << what;
        EXPECT_LT(rel_err(fused.act, cpu.act), tol) << what;
        EXPECT_LT(rel_err(fused.logits, cpu.logits), tol) << what;
      }
    }
  }
}

// Greedy decodes of one model on two CUDA backends, fused and FLUX_CUDA_FUSED=0 (the variable is read when a backend
// is made); the unfused run is fed the fused run's tokens so both see the same inputs at every step.
struct FusedPair {
  test::DecoderRun fused, unfused;
};

template <typename MakeDecoder>
FusedPair decode_fused_and_unfused(const MakeDecoder& make_decoder, const std::vector<int32_t>& prompt, int n_new) {
  FusedPair out;
  {
    unsetenv("FLUX_CUDA_FUSED");
    auto gpu = make_cuda_backend();
    Decoder decoder = make_decoder(*gpu);
    out.fused = test::run_greedy(decoder, prompt, n_new);
  }
  {
    setenv("FLUX_CUDA_FUSED", "0", 1);
    auto gpu = make_cuda_backend();
    Decoder decoder = make_decoder(*gpu);
    out.unfused = test::run_greedy(decoder, prompt, n_new, out.fused.greedy);
    unsetenv("FLUX_CUDA_FUSED");
  }
  return out;
}

// Both runs see the same inputs at every step (the unfused one is fed the fused tokens), so each step's argmax is
// compared on its own: equal, except where the unfused run's best two logits are closer than the rounding noise (a
// tie either path may break either way).
void expect_same_greedy(const FusedPair& r, int64_t vocab, const std::string& what) {
  ASSERT_EQ(r.fused.greedy.size(), r.unfused.greedy.size()) << what;
  int equal = 0;
  for (std::size_t i = 1; i < r.fused.greedy.size(); ++i) {
    if (r.fused.greedy[i] == r.unfused.greedy[i]) {
      ++equal;
      continue;
    }
    std::vector<float> row(r.unfused.step_logits.begin() + static_cast<std::ptrdiff_t>((i - 1) * vocab),
                           r.unfused.step_logits.begin() + static_cast<std::ptrdiff_t>(i * vocab));
    std::partial_sort(row.begin(), row.begin() + 2, row.end(), std::greater<>());
    EXPECT_LT(row[0] - row[1], 2e-2f * std::max(1.0f, std::fabs(row[0]))) << what << " step " << i;
  }
  std::cout << "[metric] fused vs unfused " << what << ": " << equal << " of " << r.fused.greedy.size() - 1
            << " steps' tokens equal, decode logits rel_err=" << rel_err(r.fused.step_logits, r.unfused.step_logits)
            << "\n";
}

TEST(CudaFusedDecode, TinyCheckpointsDecodeTheSameFusedAndUnfused) {
  FLUX_REQUIRE_GPU();
  for (const char* name : {"tiny_qwen3/tiny_qwen3.gguf", "tiny_llama/tiny_llama.gguf"}) {
    const std::string path = std::string(FLUX_TEST_DATA_DIR) + "/" + name;
    const ModelFiles files = ModelFiles::open(path);
    std::vector<int32_t> prompt(40);
    for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 29 + 5) % 200);
    const FusedPair r = decode_fused_and_unfused(
        [&](Backend& b) { return Decoder(files.config(), load_decoder_weights(files, b), b); }, prompt, 48);
    // A prefill of 40 rows is past the GEMVs' sizes, so it runs the same unfused ops both times.
    EXPECT_LT(rel_err(r.fused.prompt_logits, r.unfused.prompt_logits), 1e-6) << name;
    EXPECT_LT(rel_err(r.fused.step_logits, r.unfused.step_logits), 2e-2) << name;
    expect_same_greedy(r, files.config().vocab_size, name);
  }
}

// Random-weight models of the Qwen3 (QK-norm, GQA) and SmolLM2 (no QK-norm, 9 query heads over 3 KV heads) shapes,
// shrunk, with bf16 and block matrices (Q4_K; Q8_0 where SmolLM2's 576-wide q_dim is no whole 256-block): the
// block-weight GEMVs' folded norm runs too.
TEST(CudaFusedDecode, RandomModelsDecodeTheSameFusedAndUnfused) {
  FLUX_REQUIRE_GPU();
  for (const char* preset : {"qwen3-8b", "smollm2-135m"}) {
    const bool qwen = std::string(preset) == "qwen3-8b";
    ModelConfig c = random_preset_config(preset);
    c.n_layers = 3;
    c.hidden = qwen ? 512 : 768;
    c.ffn_hidden = 1024;
    c.vocab_size = 512;
    c.context_length = 512;
    for (const StorageType type : {StorageType::BF16, qwen ? StorageType::Q4_K : StorageType::Q8_0}) {
      const std::string what = std::string(preset) + " (" + storage_type_name(type) + ")";
      std::vector<int32_t> prompt(24);
      for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 41 + 3) % c.vocab_size);
      const FusedPair r = decode_fused_and_unfused(
          [&](Backend& b) { return Decoder(c, make_random_weights(c, b, 7, type), b); }, prompt, 40);
      EXPECT_LT(rel_err(r.fused.step_logits, r.unfused.step_logits), 2e-2) << what;
      expect_same_greedy(r, c.vocab_size, what);
    }
  }
}

// The split-KV combine done by the decode attention's last block per grid row (fused; DecodeArgs::split_counters)
// against the combine kernel (FLUX_CUDA_FUSED=0) and the CPU: short and long caches (1 to ~70 splits), the
// tensor-core (groups <= 8, d 64/128) and CUDA-core stage 1 (group 12, d 32). Each case runs three times on the
// fused backend into NaN-filled outputs: a counter not put back to 0 would leave the next launch's heads unwritten.
TEST(CudaFusedDecode, AttentionCombinesInItsLastBlockAsTheCombineKernel) {
  FLUX_REQUIRE_GPU();
  std::unique_ptr<Backend> cpu = make_cpu_backend(2), fused = make_cuda_backend();
  setenv("FLUX_CUDA_FUSED", "0", 1);
  std::unique_ptr<Backend> unfused = make_cuda_backend();
  unsetenv("FLUX_CUDA_FUSED");
  struct Case {
    int64_t n_slots;
    int n_kv_heads, group, d;
  };
  for (const Case c : {Case{1, 8, 4, 128}, Case{300, 2, 8, 64}, Case{8192, 8, 4, 128}, Case{70001, 8, 4, 128},
                       Case{20000, 3, 3, 64}, Case{5000, 2, 12, 32}}) {
    const int n_heads = c.n_kv_heads * c.group;
    const int64_t q_cols = int64_t{n_heads} * c.d, kv_cols = int64_t{c.n_kv_heads} * c.d;
    const auto seed = static_cast<uint32_t>(c.n_slots + c.group * 7 + c.d);
    const auto q = random_bf16(static_cast<std::size_t>(q_cols), seed, 2.0f);
    const auto k = random_bf16(static_cast<std::size_t>(c.n_slots * kv_cols), seed + 1, 2.0f);
    const auto v = random_bf16(static_cast<std::size_t>(c.n_slots * kv_cols), seed + 2);
    auto run = [&](Backend& b) {
      Tensor out = b.name() == "cpu" ? b.empty(1, q_cols) : poisoned(b, 1, q_cols);
      b.attention_decode(b.upload(q, 1, q_cols), b.upload(k, c.n_slots, kv_cols), b.upload(v, c.n_slots, kv_cols),
                         c.n_slots, n_heads, c.n_kv_heads, c.d, out);
      return fetch(b, out);
    };
    const std::string what = std::to_string(c.n_slots) + " rows, " + std::to_string(n_heads) + "/" +
                             std::to_string(c.n_kv_heads) + " heads, d " + std::to_string(c.d);
    const std::vector<float> want = run(*unfused), host = run(*cpu);
    std::vector<float> first;
    for (int rep = 0; rep < 3; ++rep) {
      const std::vector<float> got = run(*fused);
      std::string where;
      EXPECT_TRUE(within_bf16_steps(got, want, &where)) << what << " rep " << rep << ": " << where;
      EXPECT_LT(rel_err(got, host), 1e-2) << what << " rep " << rep;
      if (rep == 0) first = got;
      EXPECT_EQ(got, first) << what << " rep " << rep;  // same launch, same bits
    }
  }
}

}  // namespace
}  // namespace flux::engine::testing_gpu
