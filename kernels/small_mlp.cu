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

__device__ double sigmoid(double z) {
  return 1.0 / (1.0 + exp(-z));
}

__global__ void router_decision_kernel(const float* out, int n, int rule, float temperature, float threshold,
                                       float* keep, int32_t* decision) {
  for (int i = 0; i < n; ++i) keep[i] = out[i];
  double prob = 0.0;
  bool scores_sa = false;
  if (rule == 0) {
    prob = sigmoid(static_cast<double>(out[1]) - out[0]);
  } else if (rule == 1) {
    prob = sigmoid(static_cast<double>(out[0]) / temperature);
  } else {
    double sum = 0.0;
    for (int i = 0; i < n; ++i) sum += out[i];
    prob = sigmoid(sum / static_cast<double>(n) / temperature);
    scores_sa = true;
  }
  const bool scored_side_wins = prob > static_cast<double>(threshold);  // NaN: the other side (check_router_score)
  *decision = scores_sa == scored_side_wins ? 1 : 0;
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
