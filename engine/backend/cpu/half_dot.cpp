#include "engine/backend/cpu/half_dot.h"

#include <cstring>

#include "engine/core/error.h"
#include "engine/format/tensor_convert.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace flux::engine::cpu {
namespace {

template <bool kBf16>
float dot_scalar(const uint16_t* w, const float* x, int64_t cols) {
  float acc = 0.0f;
  for (int64_t i = 0; i < cols; ++i) acc += (kBf16 ? bf16_to_f32(w[i]) : f16_to_f32(w[i])) * x[i];
  return acc;
}

#if defined(__x86_64__)
// Eight 16-bit weights as fp32.
template <bool kBf16>
__attribute__((target("avx2,fma,f16c"))) inline __m256 widen8(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  if constexpr (kBf16) return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  return _mm256_cvtph_ps(h);
}

template <bool kBf16>
__attribute__((target("avx2,fma,f16c"))) float dot_avx2(const uint16_t* w, const float* x, int64_t cols) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= cols; i += 16) {
    acc0 = _mm256_fmadd_ps(widen8<kBf16>(w + i), _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(widen8<kBf16>(w + i + 8), _mm256_loadu_ps(x + i + 8), acc1);
  }
  const __m256 acc = _mm256_add_ps(acc0, acc1);
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s) + dot_scalar<kBf16>(w + i, x + i, cols - i);
}
#endif

}  // namespace

HalfDot half_dot(DType type, Isa isa) {
  require(type == DType::F16 || type == DType::BF16, "half_dot: {} is not a 16-bit weight type",
          static_cast<int>(type));
  const bool bf16 = type == DType::BF16;
#if defined(__x86_64__)
  if (isa >= Isa::Avx2) return bf16 ? dot_avx2<true> : dot_avx2<false>;
#endif
  (void)isa;
  return bf16 ? dot_scalar<true> : dot_scalar<false>;
}

}  // namespace flux::engine::cpu
