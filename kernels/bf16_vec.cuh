// Eight bf16 values in one 16-byte word, the unit of the bandwidth-bound kernels (decode attention, GEMV).
#pragma once

#include <cuda_bf16.h>

namespace flux::kernels {

constexpr int kBf16PerVec = 8;

__device__ inline void unpack_bf16x8(const uint4& raw, float (&out)[kBf16PerVec]) {
  const auto* pairs = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < kBf16PerVec / 2; ++i) {
    const float2 f = __bfloat1622float2(pairs[i]);
    out[2 * i] = f.x;
    out[2 * i + 1] = f.y;
  }
}

}  // namespace flux::kernels
