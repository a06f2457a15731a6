// The fp16-cache decode body on AVX2/FMA/F16C (desktops without AVX-512), head dim kD (64 or 128): the AVX-512 body's
// structure on 8-lane registers. One pass over blocks of 8 rows with an online softmax per query head, each K/V row
// widened once (vcvtph2ps) for all the group's heads, the 8 dots of a block built side by side (8 accumulators, one
// query register) and summed horizontally together, an 8-lane exp, and the values accumulated 64 dims at a time
// (8 independent FMA chains: AVX2 has 16 vector registers, so one head per pass).
#include <algorithm>

#include "engine/attention/attention_decode_tasks.h"
#include "engine/attention/softmax_math.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace flux::engine::decode_cpu {
#if defined(__x86_64__)
namespace {

// Rows per step of the online softmax: one 8-lane score vector per query head.
constexpr int64_t kBlockRows = 8;

// out lane j = the sum of v[j]'s 8 lanes.
[[gnu::always_inline]] __attribute__((target("avx2"))) inline __m256 sum_lanes8(const __m256* v) {
  const __m256 a0 = _mm256_hadd_ps(v[0], v[1]), a1 = _mm256_hadd_ps(v[2], v[3]);
  const __m256 a2 = _mm256_hadd_ps(v[4], v[5]), a3 = _mm256_hadd_ps(v[6], v[7]);
  const __m256 b0 = _mm256_hadd_ps(a0, a1), b1 = _mm256_hadd_ps(a2, a3);  // 128-bit halves: rows 0-3 | rows 4-7
  return _mm256_add_ps(_mm256_permute2f128_ps(b0, b1, 0x20), _mm256_permute2f128_ps(b0, b1, 0x31));
}

[[gnu::always_inline]] __attribute__((target("avx2"))) inline float reduce_max8(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

[[gnu::always_inline]] __attribute__((target("avx2"))) inline float reduce_add8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

// exp_nonpositive (softmax_math.h) on 8 lanes: the same range reduction, polynomial and exponent bits; x <= -87 (and
// -inf) gives 0.
[[gnu::always_inline]] __attribute__((target("avx2,fma"))) inline __m256 exp_nonpositive8(__m256 x) {
  const __m256 in_range = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_GT_OQ);
  const __m256 xc = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 r =
      _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc));
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 y = _mm256_add_ps(_mm256_fmadd_ps(_mm256_mul_ps(p, r), r, r), _mm256_set1_ps(1.0f));
  const __m256i two_n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_and_ps(in_range, _mm256_mul_ps(y, _mm256_castsi256_ps(two_n)));
}

// Rows [row0, row0 + n) of KV head g, n <= 8, widened into tile [8, kD] (rows past n keep stale finite values).
template <int kD>
[[gnu::always_inline]] __attribute__((target("avx2,f16c"))) inline void widen_block(const uint16_t* base, int64_t ldk,
                                                                                    int64_t row0, int64_t n, int64_t g,
                                                                                    float* tile) {
  const uint16_t* src = base + row0 * ldk + g * kD;
  for (int64_t j = 0; j < n; ++j) {
    // The same head's part of the row kPrefetchRows ahead (a prefetch past the cache's end does not fault).
    const char* ahead = reinterpret_cast<const char*>(src + (j + kPrefetchRows) * ldk);
    for (int line = 0; line < kD * 2; line += 64) _mm_prefetch(ahead + line, _MM_HINT_T0);
    for (int c = 0; c < kD / 8; ++c)
      _mm256_store_ps(tile + j * kD + 8 * c,
                      _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + j * ldk + 8 * c))));
  }
}

// s lane j = q · kt[j] for the block's 8 rows: the query's 8 dims at a time against all 8 rows (8 independent
// chains), then one horizontal tree.
template <int kD>
[[gnu::always_inline]] __attribute__((target("avx2,fma"))) inline __m256 block_dots(const float* q, const float* kt) {
  __m256 dots[kBlockRows];
  const __m256 q0 = _mm256_loadu_ps(q);
  for (int j = 0; j < kBlockRows; ++j) dots[j] = _mm256_mul_ps(q0, _mm256_load_ps(kt + j * kD));
  for (int c = 1; c < kD / 8; ++c) {
    const __m256 qc = _mm256_loadu_ps(q + 8 * c);
    for (int j = 0; j < kBlockRows; ++j) dots[j] = _mm256_fmadd_ps(qc, _mm256_load_ps(kt + j * kD + 8 * c), dots[j]);
  }
  return sum_lanes8(dots);
}

// o = o * alpha + Σ_j p[j] · vt[j], 64 dims (8 accumulators) per pass.
template <int kD>
[[gnu::always_inline]] __attribute__((target("avx2,fma"))) inline void accumulate_values(float* o, const float* p,
                                                                                         float alpha, const float* vt,
                                                                                         int64_t n) {
  static_assert(kD % 64 == 0);
  for (int c0 = 0; c0 < kD; c0 += 64) {
    __m256 acc[8];
    for (int c = 0; c < 8; ++c) acc[c] = _mm256_mul_ps(_mm256_loadu_ps(o + c0 + 8 * c), _mm256_set1_ps(alpha));
    for (int64_t j = 0; j < n; ++j) {
      const __m256 pj = _mm256_set1_ps(p[j]);
      for (int c = 0; c < 8; ++c) acc[c] = _mm256_fmadd_ps(pj, _mm256_load_ps(vt + j * kD + c0 + 8 * c), acc[c]);
    }
    for (int c = 0; c < 8; ++c) _mm256_storeu_ps(o + c0 + 8 * c, acc[c]);
  }
}

// All KV heads over concatenated rows [i0, i1), parts[g] for head g.
template <int kD>
__attribute__((target("avx2,fma,f16c"))) void rows_body(const DecodeArgs& a, int64_t n_kv_heads, int64_t i0, int64_t i1,
                                                        Partial* parts, Scratch& w) {
  const int64_t G = a.group;
  float* pb = w.s.data();              // [G, 8] this block's probabilities
  float* alpha = pb + G * kBlockRows;  // [G] rescale of the running output
  alignas(32) float kt[kBlockRows * kD], vt[kBlockRows * kD];
  std::fill(kt, kt + kBlockRows * kD, 0.0f);
  for (int64_t g = 0; g < n_kv_heads; ++g) {
    std::fill(parts[g].m, parts[g].m + G, kNegInf);
    std::fill(parts[g].l, parts[g].l + G, 0.0f);
    std::fill(parts[g].o, parts[g].o + G * kD, 0.0f);
  }
  const __m256 scale = _mm256_set1_ps(a.scale);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (RowTiles t(a.ranges, i0, i1, kBlockRows); t.next();) {
    const int64_t n = t.rows;
    const __m256 valid = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lane));
    for (int64_t g = 0; g < n_kv_heads; ++g) {
      const Partial p = parts[g];
      const float* qg = a.q + g * G * kD;
      widen_block<kD>(static_cast<const uint16_t*>(a.kv.k), a.ldk, t.row0, n, g, kt);
      for (int64_t h = 0; h < G; ++h) {
        const __m256 s =
            _mm256_blendv_ps(_mm256_set1_ps(kNegInf), _mm256_mul_ps(block_dots<kD>(qg + h * kD, kt), scale), valid);
        const float mx = std::max(p.m[h], reduce_max8(s));
        const __m256 e = exp_nonpositive8(_mm256_sub_ps(s, _mm256_set1_ps(mx)));
        alpha[h] = exp_nonpositive(p.m[h] - mx);
        p.l[h] = p.l[h] * alpha[h] + reduce_add8(e);
        p.m[h] = mx;
        _mm256_storeu_ps(pb + h * kBlockRows, e);
      }
      widen_block<kD>(static_cast<const uint16_t*>(a.kv.v), a.ldk, t.row0, n, g, vt);
      for (int64_t h = 0; h < G; ++h) accumulate_values<kD>(p.o + h * kD, pb + h * kBlockRows, alpha[h], vt, n);
    }
  }
}

}  // namespace

RowsFn rows_f16_avx2(int64_t d) {
  if (d == 64) return rows_body<64>;
  if (d == 128) return rows_body<128>;
  return nullptr;
}
#else
RowsFn rows_f16_avx2(int64_t) {
  return nullptr;
}
#endif

}  // namespace flux::engine::decode_cpu
