#include "engine/backend/cpu/q8_activations.h"

#include <algorithm>
#include <cmath>

namespace flux::engine::cpu {
namespace {

// One level: scale and values of v[32], the integer sums of the halves.
float quantize_block(const float* v, int8_t* q, int* sums) {
  float amax = 0.0f;
  for (int j = 0; j < kQ8Block; ++j) amax = std::fmax(amax, std::fabs(v[j]));
  const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  int sum[2] = {0, 0};
  for (int j = 0; j < kQ8Block; ++j) {
    const int qj = static_cast<int>(std::nearbyint(v[j] * inv));
    q[j] = static_cast<int8_t>(qj);
    sum[j / 16] += qj;
  }
  sums[0] = sum[0];
  sums[1] = sum[1];
  return amax / 127.0f;
}

}  // namespace

void quantize_row_q8(const float* x, Q8Block* out, int64_t n, bool residual) {
  for (int64_t b = 0; b < n / kQ8Block; ++b, x += kQ8Block) {
    Q8Block& blk = out[b];
    int sum[2], sum2[2] = {0, 0};
    blk.d = quantize_block(x, blk.q, sum);
    blk.d2 = residual ? blk.d / 256.0f : 0.0f;
    const float inv2 = blk.d2 > 0.0f ? 256.0f / blk.d : 0.0f;
    for (int j = 0; j < kQ8Block; ++j) {
      const float rest = x[j] - blk.d * static_cast<float>(blk.q[j]);
      const int q2 = std::clamp(static_cast<int>(std::nearbyint(rest * inv2)), -127, 127);
      blk.q2[j] = static_cast<int8_t>(q2);
      sum2[j / 16] += q2;
    }
    blk.s0 = blk.d * static_cast<float>(sum[0]) + blk.d2 * static_cast<float>(sum2[0]);
    blk.s = blk.s0 + blk.d * static_cast<float>(sum[1]) + blk.d2 * static_cast<float>(sum2[1]);
  }
}

}  // namespace flux::engine::cpu
