#include "engine/backend/cpu/q8_activations.h"

#include <cmath>

namespace flux::engine::cpu {
namespace {

// One level: scale and values of v[32], the half sums.
float quantize_block(const float* v, int8_t* q, int16_t* sums) {
  float amax = 0.0f;
  for (int j = 0; j < kQ8Block; ++j) amax = std::fmax(amax, std::fabs(v[j]));
  const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
  int sum[2] = {0, 0};
  for (int j = 0; j < kQ8Block; ++j) {
    const int qj = static_cast<int>(std::nearbyint(v[j] * inv));
    q[j] = static_cast<int8_t>(qj);
    sum[j / 16] += qj;
  }
  sums[0] = static_cast<int16_t>(sum[0]);
  sums[1] = static_cast<int16_t>(sum[1]);
  return amax / 127.0f;
}

}  // namespace

void quantize_row_q8(const float* x, Q8Block* out, int64_t n, bool residual) {
  for (int64_t b = 0; b < n / kQ8Block; ++b, x += kQ8Block) {
    Q8Block& blk = out[b];
    blk.d = quantize_block(x, blk.q, blk.sum);
    float rest[kQ8Block] = {};
    if (residual)
      for (int j = 0; j < kQ8Block; ++j) rest[j] = x[j] - blk.d * static_cast<float>(blk.q[j]);
    blk.d2 = quantize_block(rest, blk.q2, blk.sum2);
  }
}

}  // namespace flux::engine::cpu
