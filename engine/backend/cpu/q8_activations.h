// Activations quantized per row into blocks of 32 int8 values (one fp32 scale per block), the other operand of the
// quantized weight dot products (quant_dot.h). The sums of each 16-value half let a kernel apply a weight block's
// offset (Q4_1's min, Q4_0's -8, Q6_K's -32 per 16-value scale) without touching the values again.
#pragma once

#include <cstdint>

namespace flux::engine::cpu {

constexpr int kQ8Block = 32;

struct Q8Block {
  float d = 0.0f;        // value = d * q
  int16_t sum[2] = {};   // sum of q over elements [0, 16) and [16, 32)
  int8_t q[kQ8Block] = {};
};
static_assert(sizeof(Q8Block) == 40);

// x [n] (n a multiple of 32) into n / 32 blocks: d = max|x| / 127, q = round(x / d).
void quantize_row_q8(const float* x, Q8Block* out, int64_t n);

}  // namespace flux::engine::cpu
