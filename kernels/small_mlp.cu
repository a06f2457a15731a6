// The Layer Router's MLP on the device (engine/backend/small_mlp.h): fp32 Linear (+ SiLU) over a handful of rows
// (one per KV head). One warp per output feature reads its weight row once for every row, so a layer of the 8B
// router (4 Linears of 128×512) costs a few microseconds instead of a host round trip. One launch per Linear: the
// reference (FLUX_ROUTER_FUSED=0) of the fused router kernel (router_fused.cu).
#include "kernels/launch.h"
#include "kernels/router_math.cuh"

namespace flux::kernels {
namespace {

constexpr int kWarps = 8;

__global__ void linear_f32_kernel(const float* x, int rows, int in, const float* w, const float* b, int out, bool silu,
                                  float* y) {
  const int o = static_cast<int>(blockIdx.x) * kWarps + static_cast<int>(threadIdx.x / 32);
  if (o < out) router_math::linear_row(x, rows, in, w, b, out, silu, y, o);
}

__global__ void router_decision_kernel(const float* out, int n, int rule, float temperature, float threshold,
                                       float* keep, int32_t* decision) {
  for (int i = 0; i < n; ++i) keep[i] = out[i];
  *decision = router_math::decide(out, n, rule, temperature, threshold);
}

}  // namespace

void launch_router_decision(const float* out, int n, int rule, float temperature, float threshold, float* keep,
                            int32_t* decision, cudaStream_t stream) {
  router_decision_kernel<<<1, 1, 0, stream>>>(out, n, rule, temperature, threshold, keep, decision);
}

void launch_linear_f32(const float* x, int rows, int in, const float* w, const float* b, int out, bool silu, float* y,
                       cudaStream_t stream) {
  if (rows <= 0 || out <= 0) return;
  linear_f32_kernel<<<static_cast<unsigned>((out + kWarps - 1) / kWarps), kWarps * 32, 0, stream>>>(x, rows, in, w, b,
                                                                                                    out, silu, y);
}

}  // namespace flux::kernels
