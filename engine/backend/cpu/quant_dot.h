// Dot products of one quantized weight row (GGML blocks, kept as in the file) with one Q8 activation row, one body
// per instruction set: portable scalar, AVX2/FMA, and AVX-512 VNNI (256-bit vpdpbusd). The body is picked at run
// time from what the CPU supports; tests and benchmarks can force a lower level.
#pragma once

#include <cstdint>
#include <optional>

#include "engine/backend/cpu/q8_activations.h"
#include "engine/backend/tensor.h"

namespace flux::engine::cpu {

enum class Isa : uint8_t { Scalar, Avx2, Avx512Vnni };

const char* isa_name(Isa isa);
// The best level this CPU runs, capped by FLUX_CPU_ISA (scalar|avx2|avx512) and by force_isa.
Isa active_isa();
bool isa_supported(Isa isa);
// Caps the level (nullopt: back to the CPU's best). Throws Error for a level the CPU lacks.
void force_isa(std::optional<Isa> isa);

// dot(w_row, a_row) over `cols` elements (a multiple of 256 for K-quants, of 32 otherwise): w_row holds cols /
// block-size GGML blocks of `type`, a_row cols / 32 Q8 blocks (with their residual level for a residual body).
using RowDot = float (*)(const uint8_t* w_row, const Q8Block* a_row, int64_t cols);
// The body for `type` (a block quant) at `isa`; `residual` reads both levels of the activations.
RowDot row_dot(DType type, Isa isa, bool residual);

// Per-ISA tables (quant_dot_scalar.cpp, quant_dot_avx2.cpp, quant_dot_avx512.cpp); null for a type a body lacks.
RowDot row_dot_scalar(DType type, bool residual);
RowDot row_dot_avx2(DType type, bool residual);
RowDot row_dot_avx512(DType type, bool residual);

}  // namespace flux::engine::cpu
