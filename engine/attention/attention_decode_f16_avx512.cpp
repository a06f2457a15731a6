// The fp16-cache decode body on AVX-512, head dim kD (64 or 128): one pass over blocks of 16 rows with an online
// softmax per query head (no score buffer), each K/V row widened once (16-lane vcvtph2ps) for all the group's heads,
// the 16 dots of a block summed horizontally together (a transpose-and-add tree: 45 instructions instead of 16
// reductions), a 16-lane exp, and the values accumulated two heads at a time (8 independent FMA chains for kD = 64).
#include <algorithm>

#include "engine/attention/attention_decode_tasks.h"
#include "engine/attention/softmax_math.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which -Wmaybe-uninitialized flags once inlined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace flux::engine::decode_cpu {
#if defined(__x86_64__)
namespace {

// Rows per step of the online softmax: one 16-lane score vector per query head.
constexpr int64_t kBlockRows = 16;

// out lane j = the sum of v[j]'s 16 lanes.
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline __m512 sum_lanes16(const __m512* v) {
  __m512 a[8], b[4], c[2];
  for (int i = 0; i < 8; ++i)  // per 128-bit lane: [v2i, v2i+1, v2i, v2i+1] partial sums
    a[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  for (int i = 0; i < 4; ++i) {  // per 128-bit lane: rows 4i..4i+3, that lane's part
    const __m512d x = _mm512_castps_pd(a[2 * i]), y = _mm512_castps_pd(a[2 * i + 1]);
    b[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
  }
  for (int i = 0; i < 2; ++i)  // the four 128-bit lanes added in pairs
    c[i] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0x88),
                         _mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], 0x88), _mm512_shuffle_f32x4(c[0], c[1], 0xDD));
}

// exp_nonpositive (softmax_math.h) on 16 lanes: the same range reduction and polynomial; x <= -87 (and -inf) gives 0.
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline __m512 exp_nonpositive16(__m512 x) {
  const __mmask16 in_range = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_GT_OQ);
  const __m512 xc = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r =
      _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc));
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
  return _mm512_maskz_mov_ps(in_range, _mm512_scalef_ps(y, n));
}

// Rows [row0, row0 + n) of KV head g, n <= 16, widened into tile [16, kD] (rows past n keep stale finite values).
template <int kD>
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline void widen_block(const uint16_t* base, int64_t ldk,
                                                                                  int64_t row0, int64_t n, int64_t g,
                                                                                  float* tile) {
  const uint16_t* src = base + row0 * ldk + g * kD;
  for (int64_t j = 0; j < n; ++j) {
    // The same head's part of the row kPrefetchRows ahead (a prefetch past the cache's end does not fault).
    const char* ahead = reinterpret_cast<const char*>(src + (j + kPrefetchRows) * ldk);
    for (int line = 0; line < kD * 2; line += 64) _mm_prefetch(ahead + line, _MM_HINT_T0);
    for (int c = 0; c < kD / 16; ++c)
      _mm512_store_ps(tile + j * kD + 16 * c,
                      _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + j * ldk + 16 * c))));
  }
}

// o[h] = o[h] * alpha[h] + Σ_j p[h][j] · vt[j] for kH consecutive heads (kH · kD / 16 accumulators in registers).
template <int kD, int kH>
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline void accumulate_values(float* o, const float* p,
                                                                                        const float* alpha,
                                                                                        const float* vt, int64_t n) {
  constexpr int kV = kD / 16;
  __m512 acc[kH][kV];
  for (int h = 0; h < kH; ++h)
    for (int c = 0; c < kV; ++c)
      acc[h][c] = _mm512_mul_ps(_mm512_loadu_ps(o + h * kD + 16 * c), _mm512_set1_ps(alpha[h]));
  for (int64_t j = 0; j < n; ++j)
    for (int h = 0; h < kH; ++h) {
      const __m512 pj = _mm512_set1_ps(p[h * kBlockRows + j]);
      for (int c = 0; c < kV; ++c) acc[h][c] = _mm512_fmadd_ps(pj, _mm512_load_ps(vt + j * kD + 16 * c), acc[h][c]);
    }
  for (int h = 0; h < kH; ++h)
    for (int c = 0; c < kV; ++c) _mm512_storeu_ps(o + h * kD + 16 * c, acc[h][c]);
}

// All KV heads over concatenated rows [i0, i1), parts[g] for head g.
template <int kD>
__attribute__((target("avx512f,avx512vl,avx512bw,avx2,fma,f16c"))) void rows_body(const DecodeArgs& a,
                                                                                  int64_t n_kv_heads, int64_t i0,
                                                                                  int64_t i1, Partial* parts,
                                                                                  Scratch& w) {
  constexpr int kV = kD / 16;
  const int64_t G = a.group;
  float* pb = w.s.data();              // [G, 16] this block's probabilities
  float* alpha = pb + G * kBlockRows;  // [G] rescale of the running output
  alignas(64) float kt[kBlockRows * kD], vt[kBlockRows * kD];
  std::fill(kt, kt + kBlockRows * kD, 0.0f);
  for (int64_t g = 0; g < n_kv_heads; ++g) {
    std::fill(parts[g].m, parts[g].m + G, kNegInf);
    std::fill(parts[g].l, parts[g].l + G, 0.0f);
    std::fill(parts[g].o, parts[g].o + G * kD, 0.0f);
  }
  const __m512 scale = _mm512_set1_ps(a.scale);
  for (RowTiles t(a.ranges, i0, i1, kBlockRows); t.next();) {
    const int64_t n = t.rows;
    const __mmask16 valid = static_cast<__mmask16>((1u << n) - 1u);
    for (int64_t g = 0; g < n_kv_heads; ++g) {
      const Partial p = parts[g];
      const float* qg = a.q + g * G * kD;
      widen_block<kD>(static_cast<const uint16_t*>(a.kv.k), a.ldk, t.row0, n, g, kt);
      for (int64_t h = 0; h < G; ++h) {
        __m512 q[kV], dots[kBlockRows];
        for (int c = 0; c < kV; ++c) q[c] = _mm512_loadu_ps(qg + h * kD + 16 * c);
        for (int j = 0; j < kBlockRows; ++j) {
          __m512 d = _mm512_mul_ps(q[0], _mm512_load_ps(kt + j * kD));
          for (int c = 1; c < kV; ++c) d = _mm512_fmadd_ps(q[c], _mm512_load_ps(kt + j * kD + 16 * c), d);
          dots[j] = d;
        }
        const __m512 s = _mm512_mask_mov_ps(_mm512_set1_ps(kNegInf), valid, _mm512_mul_ps(sum_lanes16(dots), scale));
        const float mx = std::max(p.m[h], _mm512_reduce_max_ps(s));
        const __m512 e = exp_nonpositive16(_mm512_sub_ps(s, _mm512_set1_ps(mx)));
        alpha[h] = exp_nonpositive(p.m[h] - mx);
        p.l[h] = p.l[h] * alpha[h] + _mm512_reduce_add_ps(e);
        p.m[h] = mx;
        _mm512_storeu_ps(pb + h * kBlockRows, e);
      }
      widen_block<kD>(static_cast<const uint16_t*>(a.kv.v), a.ldk, t.row0, n, g, vt);
      int64_t h = 0;
      for (; h + 2 <= G; h += 2) accumulate_values<kD, 2>(p.o + h * kD, pb + h * kBlockRows, alpha + h, vt, n);
      if (h < G) accumulate_values<kD, 1>(p.o + h * kD, pb + h * kBlockRows, alpha + h, vt, n);
    }
  }
}

}  // namespace

RowsFn rows_f16_avx512(int64_t d) {
  if (d == 64) return rows_body<64>;
  if (d == 128) return rows_body<128>;
  return nullptr;
}
#else
RowsFn rows_f16_avx512(int64_t) {
  return nullptr;
}
#endif

}  // namespace flux::engine::decode_cpu
