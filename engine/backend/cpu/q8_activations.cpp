#include "engine/backend/cpu/q8_activations.h"

#include <algorithm>
#include <cmath>

#include "engine/backend/cpu/quant_dot.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace flux::engine::cpu {
namespace {

// One level: scale and values of v[32], the integer sums of the halves.
float quantize_block(const float* v, int8_t* q, int* sums) {
  float amax = 0.0f;
  for (int j = 0; j < kQ8Block; ++j) amax = std::fmax(amax, std::fabs(v[j]));
  const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  int sum[2] = {0, 0};
  for (int j = 0; j < kQ8Block; ++j) {
    const int qj = static_cast<int>(std::nearbyint(v[j] * inv));
    q[j] = static_cast<int8_t>(qj);
    sum[j / 16] += qj;
  }
  sums[0] = sum[0];
  sums[1] = sum[1];
  return amax / 127.0f;
}

void quantize_row_portable(const float* x, Q8Block* out, int64_t n, bool residual) {
  for (int64_t b = 0; b < n / kQ8Block; ++b, x += kQ8Block) {
    Q8Block& blk = out[b];
    int sum[2], sum2[2] = {0, 0};
    blk.d = quantize_block(x, blk.q, sum);
    blk.d2 = residual ? blk.d / 256.0f : 0.0f;
    const float inv2 = blk.d2 > 0.0f ? 256.0f / blk.d : 0.0f;
    for (int j = 0; j < kQ8Block; ++j) {
      const float rest = x[j] - blk.d * static_cast<float>(blk.q[j]);
      const int q2 = std::clamp(static_cast<int>(std::nearbyint(rest * inv2)), -127, 127);
      blk.q2[j] = static_cast<int8_t>(q2);
      sum2[j / 16] += q2;
    }
    blk.s0 = blk.d * static_cast<float>(sum[0]) + blk.d2 * static_cast<float>(sum2[0]);
    blk.s = blk.s0 + blk.d * static_cast<float>(sum[1]) + blk.d2 * static_cast<float>(sum2[1]);
  }
}

#if defined(__x86_64__)
// The same arithmetic 16 lanes at a time, bit for bit (the engine's baseline x86-64 build calls libm's nearbyint per
// value, which made quantizing a 4K prefill's activations a visible part of the int8 GEMM). vcvtps2dq rounds to
// nearest even like nearbyint in the default rounding mode; products pass through `rounded` so GCC (whose C++
// default is -ffp-contract=fast) cannot fuse them with the next add into an FMA the portable body does not have.
#define FT __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw")))
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12's _mm512_undefined_*() in the unmasked intrinsics

FT inline float reduce_max_abs(__m512 a, __m512 b) {
  return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(a), _mm512_abs_ps(b)));
}

FT inline float sum(__m512i v) { return static_cast<float>(_mm512_reduce_add_epi32(v)); }
template <class T>
FT inline T rounded(T v) {
  __asm__("" : "+v"(v));
  return v;
}

FT void quantize_row_avx512(const float* x, Q8Block* out, int64_t n, bool residual) {
  for (int64_t b = 0; b < n / kQ8Block; ++b, x += kQ8Block) {
    Q8Block& blk = out[b];
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = reduce_max_abs(v0, v1);
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(inv)));
    const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(inv)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(blk.q), _mm512_cvtepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(blk.q + 16), _mm512_cvtepi32_epi8(q1));
    blk.d = amax / 127.0f;
    blk.d2 = residual ? blk.d / 256.0f : 0.0f;
    const float inv2 = blk.d2 > 0.0f ? 256.0f / blk.d : 0.0f;
    const __m512 d = _mm512_set1_ps(blk.d), i2 = _mm512_set1_ps(inv2);
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    const __m512 r0 = _mm512_sub_ps(v0, rounded(_mm512_mul_ps(d, _mm512_cvtepi32_ps(q0))));
    const __m512 r1 = _mm512_sub_ps(v1, rounded(_mm512_mul_ps(d, _mm512_cvtepi32_ps(q1))));
    const __m512i p0 = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(r0, i2)), lo), hi);
    const __m512i p1 = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(r1, i2)), lo), hi);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(blk.q2), _mm512_cvtepi32_epi8(p0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(blk.q2 + 16), _mm512_cvtepi32_epi8(p1));
    blk.s0 = rounded(blk.d * sum(q0)) + rounded(blk.d2 * sum(p0));
    blk.s = blk.s0 + rounded(blk.d * sum(q1)) + rounded(blk.d2 * sum(p1));
  }
}
#pragma GCC diagnostic pop
#undef FT
#endif

}  // namespace

void quantize_row_q8(const float* x, Q8Block* out, int64_t n, bool residual) {
#if defined(__x86_64__)
  if (active_isa() == Isa::Avx512Vnni) return quantize_row_avx512(x, out, n, residual);
#endif
  quantize_row_portable(x, out, n, residual);
}

}  // namespace flux::engine::cpu
