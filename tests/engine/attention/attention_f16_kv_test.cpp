// The fp16 KV cache (the CPU default with native weights): attention over fp16 rows equals fp32 attention over the
// same rows rounded to fp16 (the loops widen exactly, so only fp32 summation order differs), for decode (dense, two
// runs, chunked caches longer than one chunk, every ISA level) and prefill (every static mask kind); a KvCache on an
// fp16 backend (dense and the FluxScope streaming ring) decodes like an fp32 cache of the rounded rows in half the
// bytes; and a small model's logits stay close to the fp32 cache's in both decode modes.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "engine/attention/attention_cpu.h"
#include "engine/backend/cpu/quant_dot.h"
#include "engine/format/tensor_convert.h"
#include "engine/model/decoder.h"
#include "engine/model/random_weights.h"
#include "engine/runtime/kv_cache.h"
#include "engine/runtime/session.h"
#include "tests/engine/support/attention_test_data.h"

namespace flux::engine {
namespace {

using flux::test::random_vec;
using flux::test::rel_error;

std::vector<uint16_t> to_f16(const std::vector<float>& x) {
  std::vector<uint16_t> h(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) h[i] = f32_to_f16(x[i]);
  return h;
}

std::vector<float> rounded(const std::vector<float>& x) {
  std::vector<float> r(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) r[i] = f16_to_f32(f32_to_f16(x[i]));
  return r;
}

// Dense double-precision decode over the rows of `ranges`.
std::vector<double> naive_decode(const std::vector<float>& q, const std::vector<float>& k, const std::vector<float>& v,
                                 const std::vector<KvRange>& ranges, int hq, int hkv, int d) {
  std::vector<double> out(static_cast<std::size_t>(hq * d), 0.0);
  for (int h = 0; h < hq; ++h) {
    const int g = h / (hq / hkv);
    std::vector<double> s;
    std::vector<int64_t> js;
    double mx = -INFINITY;
    for (const KvRange& r : ranges) {
      for (int64_t j = r.begin; j < r.end; ++j) {
        double dot = 0.0;
        for (int e = 0; e < d; ++e) dot += double{q[h * d + e]} * k[(j * hkv + g) * d + e];
        s.push_back(dot / std::sqrt(static_cast<double>(d)));
        js.push_back(j);
        mx = std::max(mx, s.back());
      }
    }
    double total = 0.0;
    for (double& x : s) total += (x = std::exp(x - mx));
    for (std::size_t i = 0; i < s.size(); ++i)
      for (int e = 0; e < d; ++e) out[h * d + e] += s[i] / total * v[(js[i] * hkv + g) * d + e];
  }
  return out;
}

struct IsaReset {
  ~IsaReset() { cpu::force_isa(std::nullopt); }
};

TEST(AttentionF16Kv, DecodeEqualsFp32OverTheRoundedRowsOnEveryIsa) {
  IsaReset reset;
  const std::tuple<int, int, int> shapes[] = {{9, 3, 64}, {8, 2, 128}, {4, 4, 32}, {6, 1, 24}};
  for (cpu::Isa isa : {cpu::Isa::Scalar, cpu::Isa::Avx2, cpu::Isa::Avx512Vnni}) {
    if (!cpu::isa_supported(isa)) continue;
    cpu::force_isa(isa);
    for (const auto& [hq, hkv, d] : shapes) {
      // 1 row, a tile's tail, and 9000 rows: more than one 4096-row chunk even on one thread, merged by their maxima.
      for (int64_t n : {1, 77, 9000}) {
        SCOPED_TRACE(std::string(cpu::isa_name(isa)) + " heads " + std::to_string(hq) + "/" + std::to_string(hkv) +
                     " d " + std::to_string(d) + " rows " + std::to_string(n));
        const auto seed = static_cast<uint32_t>(n + hq * 7 + d);
        const auto q = random_vec(static_cast<std::size_t>(hq * d), seed, 3.0f);
        const auto k = random_vec(static_cast<std::size_t>(n * hkv * d), seed + 1, 1.0f);
        const auto v = random_vec(static_cast<std::size_t>(n * hkv * d), seed + 2, 1.0f);
        const auto k16 = to_f16(k), v16 = to_f16(v);
        std::vector<std::vector<KvRange>> cases = {{{0, n}}};
        if (n > 10) cases.push_back({{0, 3}, {n / 2, n}});  // two runs, as block streaming reads them
        for (const auto& ranges : cases) {
          std::vector<float> got(q.size(), NAN), exact(q.size(), NAN);
          attention_decode_cpu(q.data(), KvRows{k16.data(), v16.data(), true}, ranges, hq, hkv, d, got.data());
          EXPECT_LT(rel_error(got, naive_decode(q, rounded(k), rounded(v), ranges, hq, hkv, d)), 2e-6);
          // The fp32 cache on the unrounded rows: exact to fp32 summation, and fp16 rounding costs ~1e-3 at most.
          attention_decode_cpu(q.data(), KvRows{k.data(), v.data(), false}, ranges, hq, hkv, d, exact.data());
          const std::vector<double> want = naive_decode(q, k, v, ranges, hq, hkv, d);
          EXPECT_LT(rel_error(exact, want), 2e-6);
          EXPECT_LT(rel_error(got, want), 3e-3);
        }
      }
    }
  }
}

// Scores that rise along the cache (each key leans further toward the query), so the running maximum moves in every
// block (8 rows on AVX2, 16 on AVX-512) and the online softmax's rescaling carries the result; block and chunk tails
// (1, 7, 8, 9, 16, 17, 4,101 rows), runs that start inside a block, one and two threads (the row chunks then merge by
// their maxima), every ISA level.
TEST(AttentionF16Kv, DecodeFollowsARisingMaximumAcrossBlocksAndThreads) {
  IsaReset reset;
  const int saved_threads = omp_get_max_threads();
  const std::tuple<int, int, int> shapes[] = {{9, 3, 64}, {8, 2, 128}, {3, 3, 64}};
  for (cpu::Isa isa : {cpu::Isa::Scalar, cpu::Isa::Avx2, cpu::Isa::Avx512Vnni}) {
    if (!cpu::isa_supported(isa)) continue;
    cpu::force_isa(isa);
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      for (const auto& [hq, hkv, d] : shapes) {
        for (int64_t n : {1, 7, 8, 9, 16, 17, 4101}) {
          SCOPED_TRACE(std::string(cpu::isa_name(isa)) + " threads " + std::to_string(threads) + " heads " +
                       std::to_string(hq) + "/" + std::to_string(hkv) + " d " + std::to_string(d) + " rows " +
                       std::to_string(n));
          const auto seed = static_cast<uint32_t>(n * 3 + hq + d);
          const auto q = random_vec(static_cast<std::size_t>(hq * d), seed, 1.0f);
          auto k = random_vec(static_cast<std::size_t>(n * hkv * d), seed + 1, 0.5f);
          const auto v = random_vec(static_cast<std::size_t>(n * hkv * d), seed + 2, 1.0f);
          for (int64_t j = 0; j < n; ++j)  // + (j / n) * 4 * q of the group's first head: scores up to ~4 d / sqrt(d)
            for (int g = 0; g < hkv; ++g)
              for (int e = 0; e < d; ++e)
                k[(j * hkv + g) * d + e] += 4.0f * static_cast<float>(j) / static_cast<float>(n) *
                                            q[static_cast<std::size_t>(g * (hq / hkv) * d + e)];
          const auto k16 = to_f16(k), v16 = to_f16(v);
          std::vector<std::vector<KvRange>> cases = {{{0, n}}};
          if (n > 1) cases.push_back({{1, n}});  // every block starts one row into the cache's
          if (n > 5) cases.push_back({{5, std::min<int64_t>(n, 21)}});
          if (n > 100) cases.push_back({{3, 40}, {57, n}});
          for (const auto& ranges : cases) {
            std::vector<float> got(q.size(), NAN);
            attention_decode_cpu(q.data(), KvRows{k16.data(), v16.data(), true}, ranges, hq, hkv, d, got.data());
            // fp32 sums over up to 4,101 rows: the scalar per-head loop reaches 2.4e-6 under the sanitizer build's
            // flags; a wrong rescale or a lost block is off by 1e-1 and more.
            EXPECT_LT(rel_error(got, naive_decode(q, rounded(k), rounded(v), ranges, hq, hkv, d)), 1e-5);
          }
        }
      }
    }
  }
  omp_set_num_threads(saved_threads);
}

TEST(AttentionF16Kv, PrefillEqualsFp32OverTheRoundedRows) {
  const int hq = 6, hkv = 2, d = 64;
  const int64_t n = 700;
  const auto q = random_vec(static_cast<std::size_t>(n * hq * d), 5, 3.0f);
  const auto k = random_vec(static_cast<std::size_t>(n * hkv * d), 6, 1.0f);
  const auto v = random_vec(static_cast<std::size_t>(n * hkv * d), 7, 1.0f);
  const auto k16 = to_f16(k), v16 = to_f16(v);
  const auto kr = rounded(k), vr = rounded(v);
  for (AttentionMode mode : {AttentionMode::Full, AttentionMode::Streaming, AttentionMode::Triangle}) {
    for (bool token_exact : {false, true}) {
      SCOPED_TRACE(std::string(attention_mode_name(mode)) + (token_exact ? " token-exact" : " blocks"));
      AttentionPlan plan;
      plan.mode = mode;
      plan.block = 64;
      plan.sink = 64;
      plan.window = 192;
      plan.n_last = 50;
      plan.token_exact = token_exact;
      const BlockLists lists = build_block_lists(plan, n);
      std::vector<float> got(q.size(), NAN), want(q.size(), NAN);
      attention_prefill_cpu(q.data(), KvRows{k16.data(), v16.data(), true}, n, 0, n, hq, hkv, d, plan, lists,
                            got.data());
      attention_prefill_cpu(q.data(), kr.data(), vr.data(), n, 0, n, hq, hkv, d, plan, lists, want.data());
      EXPECT_LT(rel_error(got, std::vector<double>(want.begin(), want.end())), 1e-6);
    }
  }
}

// A backend's KV cache of `prompt` stored rows, prepared for decode in `mode`, then `steps` decode steps; returns
// each step's attention output.
std::vector<std::vector<float>> cache_decode(Backend& backend, const AttentionPlan& plan, LayerMode mode,
                                             const std::vector<float>& keys, const std::vector<float>& values,
                                             int64_t prompt, int64_t steps, int hq, int hkv, int d,
                                             std::size_t* bytes) {
  const int kv_dim = hkv * d;
  KvCache kv(backend, 1, kv_dim, prompt + steps);
  const auto rows = [&](const std::vector<float>& all, int64_t r0, int64_t n) {
    return backend.upload(
        std::span(all).subspan(static_cast<std::size_t>(r0 * kv_dim), static_cast<std::size_t>(n * kv_dim)), n, kv_dim);
  };
  kv.store(0, 0, rows(keys, 0, prompt), rows(values, 0, prompt));
  kv.prepare_decode(0, mode, plan);
  DecodeStep step = backend.make_decode_step();
  std::vector<std::vector<float>> outs;
  for (int64_t p = prompt; p < prompt + steps; ++p) {
    backend.set_decode_step(step, 0, p);
    kv.store_step(0, rows(keys, p, 1), rows(values, p, 1), step);
    const auto q = random_vec(static_cast<std::size_t>(hq * d), static_cast<uint32_t>(p), 2.0f);
    Tensor out = backend.empty(1, hq * d);
    backend.attention_decode_step(backend.upload(q, 1, hq * d), kv.keys(0), kv.values(0), step, kv.layout(0), hq, hkv,
                                  d, out);
    outs.emplace_back(static_cast<std::size_t>(hq * d));
    backend.download(out, outs.back());
    kv.advance(p);
  }
  *bytes = kv.bytes(0);
  return outs;
}

TEST(KvCacheF16, DenseRingAndBlockStreamingDecodeLikeAnFp32CacheOfTheRoundedRows) {
  auto f16 = make_cpu_backend(2), f32 = make_cpu_backend(2);
  f16->set_kv_dtype(DType::F16);
  f32->set_kv_dtype(DType::F32);
  const int hq = 9, hkv = 3, d = 64;
  const int64_t prompt = 1200, steps = 40;
  const auto keys = random_vec(static_cast<std::size_t>((prompt + steps) * hkv * d), 11, 1.0f);
  const auto values = random_vec(static_cast<std::size_t>((prompt + steps) * hkv * d), 12, 1.0f);
  AttentionPlan streaming;
  streaming.mode = AttentionMode::Streaming;
  streaming.block = 128;
  streaming.sink = 128;
  streaming.window = 512;
  AttentionPlan reference = streaming;
  reference.decode = DecodeMode::Reference;
  const std::tuple<const char*, AttentionPlan, LayerMode, bool> cases[] = {
      {"dense (FA)", streaming, LayerMode::FA, false},
      {"FluxScope streaming ring", streaming, LayerMode::SA, true},
      {"Reference block streaming", reference, LayerMode::SA, false}};
  for (const auto& [name, plan, mode, ring] : cases) {
    SCOPED_TRACE(name);
    std::size_t bytes16 = 0, bytes32 = 0;
    const auto got = cache_decode(*f16, plan, mode, keys, values, prompt, steps, hq, hkv, d, &bytes16);
    const auto want =
        cache_decode(*f32, plan, mode, rounded(keys), rounded(values), prompt, steps, hq, hkv, d, &bytes32);
    EXPECT_EQ(bytes16 * 2, bytes32);
    EXPECT_EQ(bytes32, static_cast<std::size_t>(ring ? 128 + 512 : prompt + steps) * hkv * d * 2 * sizeof(float));
    for (std::size_t s = 0; s < got.size(); ++s)
      ASSERT_LT(rel_error(got[s], std::vector<double>(want[s].begin(), want[s].end())), 2e-6) << "step " << s;
  }
  // The stored rows read back as the rounded values.
  KvCache kv(*f16, 1, hkv * d, 4);
  const std::vector<float> row(keys.begin(), keys.begin() + 4 * hkv * d);
  kv.store(0, 0, f16->upload(row, 4, hkv * d), f16->upload(row, 4, hkv * d));
  std::vector<float> back(row.size());
  f16->download(kv.keys(0), back);
  EXPECT_EQ(back, rounded(row));
}

// A random-weight Qwen3-shaped model (decode_mode_session_test's), one backend per cache type, the same weights.
struct TinyModel {
  explicit TinyModel(DType kv) { backend->set_kv_dtype(kv); }
  std::unique_ptr<Backend> backend = make_cpu_backend(2);
  ModelConfig config = [] {
    ModelConfig c = random_preset_config("qwen3-8b");
    c.n_layers = 3, c.hidden = 64, c.n_heads = 4, c.n_kv_heads = 2, c.head_dim = 16, c.ffn_hidden = 96;
    c.vocab_size = 97, c.context_length = 4096;
    return c;
  }();
  Decoder decoder{config, make_random_weights(config, *backend, 11), *backend};
};

TEST(SessionF16Kv, LogitsStayCloseToTheFp32CacheInBothDecodeModes) {
  TinyModel m16(DType::F16), m32(DType::F32);
  const int64_t prompt = 700, steps = 24;  // past sink + window: the FluxScope ring evicts
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> token(0, m16.config.vocab_size - 1);
  std::vector<int32_t> tokens(static_cast<std::size_t>(prompt + steps));
  for (auto& t : tokens) t = token(rng);
  for (DecodeMode decode : {DecodeMode::FluxScope, DecodeMode::Reference}) {
    SCOPED_TRACE(decode_mode_name(decode));
    RoutingPlan plan;
    plan.sparse.mode = AttentionMode::Streaming;
    plan.sparse.block = 128;
    plan.sparse.sink = 128;
    plan.sparse.window = 256;
    plan.sparse.decode = decode;
    plan.layers.resize(3);
    plan.layers[1].mode = LayerMode::SA;
    Session s16(m16.decoder, prompt + steps), s32(m32.decoder, prompt + steps);
    const auto first = std::span(tokens).first(static_cast<std::size_t>(prompt));
    std::vector<float> a = s16.prefill(first, plan), b = s32.prefill(first, plan);
    EXPECT_EQ(s16.kv_cache().bytes(1) * 2, s32.kv_cache().bytes(1));
    double worst = 0.0;
    for (int64_t p = prompt;; ++p) {
      double diff = 0.0, scale = 0.0;
      for (std::size_t i = 0; i < a.size(); ++i) {
        diff = std::max(diff, std::abs(static_cast<double>(a[i]) - b[i]));
        scale = std::max(scale, std::abs(static_cast<double>(b[i])));
      }
      worst = std::max(worst, diff / scale);
      if (p == prompt + steps) break;
      a = s16.decode(tokens[static_cast<std::size_t>(p)]);
      b = s32.decode(tokens[static_cast<std::size_t>(p)]);
    }
    // fp16 keeps 11 significant bits: logits move by ~1e-3 of their range, far below a wrong row's effect.
    EXPECT_LT(worst, 1e-2);
    EXPECT_GT(worst, 0.0);  // the caches did differ: this compared an fp16 cache with an fp32 one
  }
}

}  // namespace
}  // namespace flux::engine
