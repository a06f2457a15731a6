// Dot products of one F16 or BF16 weight row with one fp32 activation row (decode GEMV of 16-bit safetensors
// weights): the weights widen to fp32 in registers, so only 2 bytes per weight are read. AVX2/F16C body where the CPU
// has it (quant_dot.h's level, capped the same way), scalar otherwise.
#pragma once

#include <cstdint>

#include "engine/backend/cpu/quant_dot.h"
#include "engine/backend/tensor.h"

namespace flux::engine::cpu {

using HalfDot = float (*)(const uint16_t* w_row, const float* x, int64_t cols);

// The body for `type` (F16 or BF16) at `isa`.
HalfDot half_dot(DType type, Isa isa);

}  // namespace flux::engine::cpu
