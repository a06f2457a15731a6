// The Layer Router's arithmetic on the device, shared by the one-Linear-per-launch kernels (small_mlp.cu: the
// reference, FLUX_ROUTER_FUSED=0) and the fused router kernel (router_fused.cu), so both give the same bits.
#pragma once

#include <cstdint>

namespace flux::kernels::router_math {

constexpr int kRowsPerPass = 8;  // rows held in registers per pass over a weight row

// One warp: y[r][o] = x[r] · W[o] + b[o] (then SiLU) for every row r < rows, reading W's row o once per pass.
// x and y are plain pointers (no __restrict__, no read-only cache): in the fused kernel x was written by other blocks
// of the same launch.
__device__ inline void linear_row(const float* x, int rows, int in, const float* w, const float* b, int out, bool silu,
                                  float* y, int o) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const float* wr = w + static_cast<int64_t>(o) * in;
  for (int r0 = 0; r0 < rows; r0 += kRowsPerPass) {
    const int n = rows - r0 < kRowsPerPass ? rows - r0 : kRowsPerPass;
    float acc[kRowsPerPass] = {};
#pragma unroll 4
    for (int i = lane; i < in; i += 32) {  // unrolled: the loads of 4 iterations in flight (same order of adds)
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

__device__ inline double sigmoid(double z) {
  return 1.0 / (1.0 + exp(-z));
}

// decide_logits + decide_layer (engine/routing/layer_router.cpp) on out[0..n), in fp64; 1 = SA, 0 = FA.
__device__ inline int32_t decide(const float* out, int n, int rule, float temperature, float threshold) {
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
  return scores_sa == scored_side_wins ? 1 : 0;
}

}  // namespace flux::kernels::router_math
