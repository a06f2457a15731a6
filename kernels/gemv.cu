// Matrix-vector products for decode (x has 1..4 rows): y [n, out] = x [n, in] · Wᵀ with W [out, in] bf16, fp32
// accumulation. One warp per output row streams that row once with 16-byte loads and reuses it for every x row;
// a decode step is bound by reading the weights, and cuBLASLt's M = 1 kernels leave bandwidth unused.
#include "kernels/bf16_vec.cuh"
#include "kernels/launch.h"

namespace flux::kernels {
namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kVec = kBf16PerVec;

template <int N>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    gemv_kernel(const bf16* __restrict__ x, const bf16* __restrict__ w, bf16* __restrict__ y, int64_t in,
                int64_t out) {
  const int64_t row = blockIdx.x * int64_t{kWarpsPerBlock} + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= out) return;
  const uint4* wr = reinterpret_cast<const uint4*>(w + row * in);
  float acc[N] = {};
  const int64_t n_vec = in / kVec;
#pragma unroll 4
  for (int64_t i = lane; i < n_vec; i += 32) {
    float wf[kVec];
    unpack_bf16x8(__ldg(wr + i), wf);
#pragma unroll
    for (int r = 0; r < N; ++r) {
      float xf[kVec];
      unpack_bf16x8(*reinterpret_cast<const uint4*>(x + r * in + i * kVec), xf);
#pragma unroll
      for (int e = 0; e < kVec; ++e) acc[r] += wf[e] * xf[e];
    }
  }
#pragma unroll
  for (int r = 0; r < N; ++r) {
    float s = acc[r];
    for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
    if (lane == 0) y[r * out + row] = __float2bfloat16(s);
  }
}

bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

}  // namespace

bool launch_gemv(const bf16* x, const bf16* w, bf16* y, int64_t n, int64_t in, int64_t out, cudaStream_t stream) {
  if (n < 1 || n > kMaxGemvRows || in % kVec != 0 || out < 1 || !aligned16(x) || !aligned16(w)) return false;
  const unsigned blocks = static_cast<unsigned>((out + kWarpsPerBlock - 1) / kWarpsPerBlock);
  switch (n) {
    case 1:
      gemv_kernel<1><<<blocks, kWarpsPerBlock * 32, 0, stream>>>(x, w, y, in, out);
      break;
    case 2:
      gemv_kernel<2><<<blocks, kWarpsPerBlock * 32, 0, stream>>>(x, w, y, in, out);
      break;
    case 3:
      gemv_kernel<3><<<blocks, kWarpsPerBlock * 32, 0, stream>>>(x, w, y, in, out);
      break;
    default:
      gemv_kernel<4><<<blocks, kWarpsPerBlock * 32, 0, stream>>>(x, w, y, in, out);
      break;
  }
  return true;
}

}  // namespace flux::kernels
