// The Layer Router's MLP on the device (engine/backend/small_mlp.h): fp32 Linear (+ SiLU) over a handful of rows
// (one per KV head). One warp per output feature reads its weight row once for every row, so a layer of the 8B
// router (4 Linears of 128×512) costs a few microseconds instead of a host round trip.
#include "kernels/launch.h"

namespace flux::kernels {
namespace {

constexpr int kWarps = 8;
constexpr int kRowsPerPass = 8;  // rows held in registers per pass over the weight row

__global__ void linear_f32_kernel(const float* x, int rows, int in, const float* w, const float* b, int out, bool silu,
                                  float* y) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int o = static_cast<int>(blockIdx.x) * kWarps + static_cast<int>(threadIdx.x / 32);
  if (o >= out) return;
  const float* wr = w + static_cast<int64_t>(o) * in;
  for (int r0 = 0; r0 < rows; r0 += kRowsPerPass) {
    const int n = rows - r0 < kRowsPerPass ? rows - r0 : kRowsPerPass;
    float acc[kRowsPerPass] = {};
    for (int i = lane; i < in; i += 32) {
      const float wv = wr[i];
#pragma unroll
      for (int r = 0; r < kRowsPerPass; ++r)
        if (r < n) acc[r] += wv * x[static_cast<int64_t>(r0 + r) * in + i];
    }
#pragma unroll
    for (int r = 0; r < kRowsPerPass; ++r) {
      float s = acc[r];
      for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
      if (lane == 0 && r < n) {
        const float v = s + b[o];
        y[static_cast<int64_t>(r0 + r) * out + o] = silu ? v / (1.0f + expf(-v)) : v;
      }
    }
  }
}

}  // namespace

void launch_linear_f32(const float* x, int rows, int in, const float* w, const float* b, int out, bool silu, float* y,
                       cudaStream_t stream) {
  if (rows <= 0 || out <= 0) return;
  linear_f32_kernel<<<static_cast<unsigned>((out + kWarps - 1) / kWarps), kWarps * 32, 0, stream>>>(x, rows, in, w, b,
                                                                                                    out, silu, y);
}

}  // namespace flux::kernels
