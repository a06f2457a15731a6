// Activations quantized per row into blocks of 32 int8 values (one fp32 scale per block), the other operand of the
// quantized weight dot products (quant_dot.h). The sums of each 16-value half let a kernel apply a weight block's
// offset (Q4_1's min, Q4_0's -8, Q6_K's -32 per 16-value scale) without touching the values again.
// With a residual level, x ~ d q + d2 q2 (q2 quantizes what q missed): two int8 dots per weight sub-block, the
// weight unpacked once, and activations good to ~1/127^2 of each block's maximum instead of ~1/254 (the precision
// that keeps greedy text equal to the fp32 reference: docs/cpu-engine.md).
#pragma once

#include <cstdint>

namespace flux::engine::cpu {

constexpr int kQ8Block = 32;

struct Q8Block {
  float d = 0.0f;        // value = d * q (+ d2 * q2)
  float d2 = 0.0f;       // 0 without the residual level
  int16_t sum[2] = {};   // sum of q over elements [0, 16) and [16, 32)
  int16_t sum2[2] = {};  // the same for q2
  int8_t q[kQ8Block] = {};
  int8_t q2[kQ8Block] = {};
};
static_assert(sizeof(Q8Block) == 80);

// x [n] (n a multiple of 32) into n / 32 blocks: d = max|x| / 127, q = round(x / d); with `residual`, the same for
// x - d q into d2, q2 (else d2 = 0, q2 = 0).
void quantize_row_q8(const float* x, Q8Block* out, int64_t n, bool residual);

}  // namespace flux::engine::cpu
