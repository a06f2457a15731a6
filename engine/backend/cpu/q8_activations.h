// Activations quantized per row into blocks of 32 int8 values (one fp32 scale per block), the other operand of the
// quantized weight dot products (quant_dot.h). The block's value sum, scaled (s = d Σq + d2 Σq2, as llama.cpp's q8_1
// keeps d·Σq), lets a kernel apply a weight block's offset (Q4_1's min, Q4_0's -8, Q6_K's -32 per 16-value scale)
// with one multiply, never touching the values again; s0 is the same sum over the first 16 values (Q6_K's halves).
// With a residual level, x ~ d q + d2 q2, q2 quantizing what q missed on the fixed finer grid d2 = d / 256: a kernel
// fuses both levels in one integer dot, 256 Σ w q + Σ w q2 (a shift and a second int8 dot into the same int32
// lanes), times d2 -- one conversion and one multiply-add per weight sub-block, as for one level -- and the
// activations are good to ~1/65,000 of each block's maximum instead of ~1/254 (the precision that keeps greedy text
// equal to the fp32 reference: docs/cpu-engine.md).
#pragma once

#include <cstdint>

namespace flux::engine::cpu {

constexpr int kQ8Block = 32;

// d, s, d2, s0 in this order: the SIMD bodies load them as one 4-lane vector.
struct Q8Block {
  float d = 0.0f;   // value = d * q (+ d2 * q2)
  float s = 0.0f;   // sum of the 32 values as the block represents them: d Σq + d2 Σq2
  float d2 = 0.0f;  // d / 256, 0 without the residual level
  float s0 = 0.0f;  // the same sum over elements [0, 16)
  int8_t q[kQ8Block] = {};
  int8_t q2[kQ8Block] = {};
};
static_assert(sizeof(Q8Block) == 80);

// x [n] (n a multiple of 32) into n / 32 blocks: d = max|x| / 127, q = round(x / d); with `residual`, d2 = d / 256
// and q2 = round((x - d q) / d2) (|x - d q| <= d / 2, so |q2| <= 128, clamped to 127); else d2 = 0, q2 = 0.
void quantize_row_q8(const float* x, Q8Block* out, int64_t n, bool residual);

}  // namespace flux::engine::cpu
