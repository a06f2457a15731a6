// AVX2/FMA bodies: u8 x s8 products through vpmaddubsw + vpmaddwd.
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>

#include "engine/backend/cpu/quant_blocks.h"
#include "engine/backend/cpu/quant_dot.h"

namespace flux::engine::cpu {

#define FLUX_SIMD_TARGET "avx2,fma,f16c"
#define FLUX_DOT_U8S8(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))
#define FLUX_DOT_U8S8_ADD(c, u, s) _mm256_add_epi32((c), FLUX_DOT_U8S8(u, s))
#include "engine/backend/cpu/quant_dot_simd.inc"
#undef FLUX_DOT_U8S8_ADD
#undef FLUX_DOT_U8S8
#undef FLUX_SIMD_TARGET

RowDot row_dot_avx2(DType type, bool residual) {
  return residual ? simd_table<true>(type) : simd_table<false>(type);
}

}  // namespace flux::engine::cpu
#else
#include "engine/backend/cpu/quant_dot.h"
namespace flux::engine::cpu {
RowDot row_dot_avx2(DType, bool) {
  return nullptr;
}
}  // namespace flux::engine::cpu
#endif
