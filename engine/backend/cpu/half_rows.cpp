#include "engine/backend/cpu/half_rows.h"

#include "engine/backend/cpu/quant_dot.h"
#include "engine/format/tensor_convert.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace flux::engine::cpu {
namespace {

#if defined(__x86_64__)
__attribute__((target("avx2,f16c"))) inline void widen_f16c(const uint16_t* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  for (; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

__attribute__((target("avx2,f16c"))) void narrow_f16c(const float* src, uint16_t* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

// One call per tile of rows (the attention loops widen 32-row tiles): the per-row loop stays inside the target.
__attribute__((target("avx2,f16c"))) void widen_rows_f16c(const uint16_t* src, int64_t src_stride, float* dst,
                                                          int64_t dst_stride, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) widen_f16c(src + r * src_stride, dst + r * dst_stride, cols);
}
#endif

}  // namespace

void f16_to_f32_n(const uint16_t* src, float* dst, int64_t n) {
#if defined(__x86_64__)
  if (active_isa() >= Isa::Avx2) return widen_f16c(src, dst, n);
#endif
  for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(src[i]);
}

void f32_to_f16_n(const float* src, uint16_t* dst, int64_t n) {
#if defined(__x86_64__)
  if (active_isa() >= Isa::Avx2) return narrow_f16c(src, dst, n);
#endif
  for (int64_t i = 0; i < n; ++i) dst[i] = f32_to_f16(src[i]);
}

void f16_to_f32_rows(const uint16_t* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows,
                     int64_t cols) {
#if defined(__x86_64__)
  if (active_isa() >= Isa::Avx2) return widen_rows_f16c(src, src_stride, dst, dst_stride, rows, cols);
#endif
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) dst[r * dst_stride + c] = f16_to_f32(src[r * src_stride + c]);
}

}  // namespace flux::engine::cpu
