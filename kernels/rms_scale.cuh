// The RMSNorm factor of one row summed by a whole block: shared by the norm kernels (kernels/elementwise.cu) and the
// kernels that fold a norm into their prologue (kernels/decode_fused.cu, kernels/quant_gemv.cu).
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

namespace flux::kernels {

// 1 / sqrt(mean of squares + eps) from each thread's partial sum of squares (warp shuffles, then shared memory).
// Every thread of the block calls it and gets the result. It reuses one shared array: a kernel that calls it again
// must __syncthreads() in between.
__device__ inline float rms_scale(float ss, int64_t cols, float eps) {
  for (int off = 16; off > 0; off >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, off);
  __shared__ float partial[32];
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = ss;
  __syncthreads();
  float total = 0.0f;
  for (int i = 0; i < static_cast<int>(blockDim.x / 32); ++i) total += partial[i];
  return 1.0f / sqrtf(total / static_cast<float>(cols) + eps);
}

// The two bf16 halves of a 32-bit word as floats.
__device__ __forceinline__ float bf16_lo(uint32_t u) {
  return __uint_as_float(u << 16);
}
__device__ __forceinline__ float bf16_hi(uint32_t u) {
  return __uint_as_float(u & 0xffff0000u);
}

// Eight bf16 of x normalised by `scale` and weight g, rounded to bf16 as the norm kernels store them
// (x * scale * g, in that order), so a fused consumer sees the values the unfused norm would have written.
__device__ __forceinline__ uint4 normalize_bf16x8(const uint4& x, const uint4& g, float scale) {
  const uint32_t xs[4] = {x.x, x.y, x.z, x.w}, gs[4] = {g.x, g.y, g.z, g.w};
  uint32_t ys[4];
#pragma unroll
  for (int e = 0; e < 4; ++e) {
    const __nv_bfloat162 y =
        __floats2bfloat162_rn(bf16_lo(xs[e]) * scale * bf16_lo(gs[e]), bf16_hi(xs[e]) * scale * bf16_hi(gs[e]));
    ys[e] = *reinterpret_cast<const uint32_t*>(&y);
  }
  return make_uint4(ys[0], ys[1], ys[2], ys[3]);
}

// Σ of squares of eight bf16.
__device__ __forceinline__ float squares_bf16x8(const uint4& x) {
  float ss = 0.0f;
  for (const uint32_t u : {x.x, x.y, x.z, x.w}) ss += bf16_lo(u) * bf16_lo(u) + bf16_hi(u) * bf16_hi(u);
  return ss;
}

}  // namespace flux::kernels
