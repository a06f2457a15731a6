#include "engine/backend/cpu/row_ops.h"

#include <cmath>

#include "engine/backend/cpu/quant_dot.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace flux::engine::cpu {
namespace {

float row_scale(double sum_squares, int64_t n, float eps) {
  return static_cast<float>(1.0 / std::sqrt(sum_squares / static_cast<double>(n) + eps));
}

void rms_norm_portable(const float* x, const float* w, float eps, float* out, int64_t n) {
  double ss = 0.0;
  for (int64_t c = 0; c < n; ++c) ss += static_cast<double>(x[c]) * x[c];
  const float scale = row_scale(ss, n, eps);
  for (int64_t c = 0; c < n; ++c) out[c] = x[c] * scale * w[c];
}

void swiglu_portable(const float* g, const float* u, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

// e^x as Cephes' expf: x = n ln2 + r (ln2 in two parts), e^r by a degree-7 polynomial on |r| <= ln2 / 2, times
// 2^(n-1) · 2 so that n = 128 (x up to ~88.72) still reaches FLT_MAX and beyond it overflows to inf. x is clamped
// to [-87, 89]: below, e^x < 2^-125 adds nothing to silu's 1 + e^-g; above, e^x is inf as in libm.
constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
constexpr float kP[] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                        4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

#if defined(__x86_64__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's _mm512_undefined_*() in the unmasked intrinsics

#define FT __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw")))
FT inline __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(89.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(kLn2Lo), r);
  __m512 p = _mm512_set1_ps(kP[0]);
  for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(kP[i]));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(126)), 23);
  return _mm512_mul_ps(_mm512_mul_ps(p, _mm512_castsi512_ps(e)), _mm512_set1_ps(2.0f));
}

FT inline __m512 swiglu16(__m512 g, __m512 u) {
  const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
  return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e)), u);
}

FT void swiglu_avx512(const float* g, const float* u, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, swiglu16(_mm512_loadu_ps(g + i), _mm512_loadu_ps(u + i)));
  if (i < n) {
    const auto m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(out + i, m, swiglu16(_mm512_maskz_loadu_ps(m, g + i), _mm512_maskz_loadu_ps(m, u + i)));
  }
}

// Squares summed in double, 8 lanes at a time (the portable body's precision, another order).
FT void rms_norm_avx512(const float* x, const float* w, float eps, float* out, int64_t n) {
  __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) {
    const __m512d lo = _mm512_cvtps_pd(_mm256_loadu_ps(x + c)), hi = _mm512_cvtps_pd(_mm256_loadu_ps(x + c + 8));
    s0 = _mm512_fmadd_pd(lo, lo, s0);
    s1 = _mm512_fmadd_pd(hi, hi, s1);
  }
  double ss = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
  for (int64_t t = c; t < n; ++t) ss += static_cast<double>(x[t]) * x[t];
  const __m512 scale = _mm512_set1_ps(row_scale(ss, n, eps));
  for (c = 0; c + 16 <= n; c += 16)
    _mm512_storeu_ps(out + c, _mm512_mul_ps(_mm512_mul_ps(_mm512_loadu_ps(x + c), scale), _mm512_loadu_ps(w + c)));
  if (c < n) {
    const auto m = static_cast<__mmask16>((1u << (n - c)) - 1u);
    _mm512_mask_storeu_ps(
        out + c, m,
        _mm512_mul_ps(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + c), scale), _mm512_maskz_loadu_ps(m, w + c)));
  }
}
#undef FT

#define FT __attribute__((target("avx2,fma")))
FT inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(89.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(kLog2e)), _MM_FROUND_TO_NEAREST_INT);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(kLn2Lo), r);
  __m256 p = _mm256_set1_ps(kP[0]);
  for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(kP[i]));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(126)), 23);
  return _mm256_mul_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), _mm256_set1_ps(2.0f));
}

FT void swiglu_avx2(const float* g, const float* u, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 gv = _mm256_loadu_ps(g + i);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), gv));
    _mm256_storeu_ps(out + i,
                     _mm256_mul_ps(_mm256_div_ps(gv, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), _mm256_loadu_ps(u + i)));
  }
  swiglu_portable(g + i, u + i, out + i, n - i);
}

FT void rms_norm_avx2(const float* x, const float* w, float eps, float* out, int64_t n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
  int64_t c = 0;
  for (; c + 8 <= n; c += 8) {
    const __m256d lo = _mm256_cvtps_pd(_mm_loadu_ps(x + c)), hi = _mm256_cvtps_pd(_mm_loadu_ps(x + c + 4));
    s0 = _mm256_fmadd_pd(lo, lo, s0);
    s1 = _mm256_fmadd_pd(hi, hi, s1);
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(s0, s1));
  double ss = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (int64_t t = c; t < n; ++t) ss += static_cast<double>(x[t]) * x[t];
  const float s = row_scale(ss, n, eps);
  const __m256 scale = _mm256_set1_ps(s);
  for (c = 0; c + 8 <= n; c += 8)
    _mm256_storeu_ps(out + c, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + c), scale), _mm256_loadu_ps(w + c)));
  for (; c < n; ++c) out[c] = x[c] * s * w[c];
}
#undef FT
#pragma GCC diagnostic pop
#endif

}  // namespace

void rms_norm_row(const float* x, const float* w, float eps, float* out, int64_t n) {
#if defined(__x86_64__)
  const Isa isa = active_isa();
  if (isa == Isa::Avx512Vnni) return rms_norm_avx512(x, w, eps, out, n);
  if (isa == Isa::Avx2) return rms_norm_avx2(x, w, eps, out, n);
#endif
  rms_norm_portable(x, w, eps, out, n);
}

void swiglu_n(const float* g, const float* u, float* out, int64_t n) {
#if defined(__x86_64__)
  const Isa isa = active_isa();
  if (isa == Isa::Avx512Vnni) return swiglu_avx512(g, u, out, n);
  if (isa == Isa::Avx2) return swiglu_avx2(g, u, out, n);
#endif
  swiglu_portable(g, u, out, n);
}

}  // namespace flux::engine::cpu
