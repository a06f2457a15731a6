#include "engine/backend/cpu/q8_activations.h"

#include <cmath>

namespace flux::engine::cpu {

void quantize_row_q8(const float* x, Q8Block* out, int64_t n) {
  for (int64_t b = 0; b < n / kQ8Block; ++b, x += kQ8Block) {
    float amax = 0.0f;
    for (int j = 0; j < kQ8Block; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    Q8Block& blk = out[b];
    blk.d = amax / 127.0f;
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    int sum[2] = {0, 0};
    for (int j = 0; j < kQ8Block; ++j) {
      const int q = static_cast<int>(std::nearbyint(x[j] * inv));
      blk.q[j] = static_cast<int8_t>(q);
      sum[j / 16] += q;
    }
    blk.sum[0] = static_cast<int16_t>(sum[0]);
    blk.sum[1] = static_cast<int16_t>(sum[1]);
  }
}

}  // namespace flux::engine::cpu
