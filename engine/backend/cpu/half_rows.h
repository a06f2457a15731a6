// fp32 <-> IEEE fp16 conversion of contiguous values: the CPU KV cache stores fp16 (half the bytes a long decode step
// reads, and half the memory) and its writers and attention loops convert with these. F16C where the CPU has it
// (quant_dot.h's level, so FLUX_CPU_ISA=scalar tests the portable path), bit-exact scalar code otherwise; both round
// to nearest even.
#pragma once

#include <cstdint>

namespace flux::engine::cpu {

void f16_to_f32_n(const uint16_t* src, float* dst, int64_t n);
void f32_to_f16_n(const float* src, uint16_t* dst, int64_t n);
// `rows` rows of `cols` values, row r at src + r * src_stride, into dst + r * dst_stride (strides in elements).
void f16_to_f32_rows(const uint16_t* src, int64_t src_stride, float* dst, int64_t dst_stride, int64_t rows,
                     int64_t cols);

}  // namespace flux::engine::cpu
