// AVX-512 VNNI bodies: the AVX2 unpacking with u8 x s8 products in one vpdpbusd (256-bit, AVX512VL).
#if defined(__x86_64__)
#include <immintrin.h>

#include <cstring>

#include "engine/backend/cpu/quant_blocks.h"
#include "engine/backend/cpu/quant_dot.h"

namespace flux::engine::cpu {

#define FLUX_SIMD_TARGET "avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni"
#define FLUX_DOT_U8S8(u, s) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (u), (s))
#define FLUX_DOT_U8S8_ADD(c, u, s) _mm256_dpbusd_epi32((c), (u), (s))
#include "engine/backend/cpu/quant_dot_simd.inc"
#undef FLUX_DOT_U8S8_ADD
#undef FLUX_DOT_U8S8
#undef FLUX_SIMD_TARGET

RowDot row_dot_avx512(DType type, bool residual) {
  return residual ? simd_table<true>(type) : simd_table<false>(type);
}

}  // namespace flux::engine::cpu
#else
#include "engine/backend/cpu/quant_dot.h"
namespace flux::engine::cpu {
RowDot row_dot_avx512(DType, bool) {
  return nullptr;
}
}  // namespace flux::engine::cpu
#endif
