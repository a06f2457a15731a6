// Long-prefill GEMM in integers: block-quant weights (Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K: unsigned values, a scale
// and an offset per 32 elements; Q8_0: signed values, packed as q + 128 with -128 · d as the offset; Q6_K: a scale per
// 16 elements, so two conversions per block) times Q8 activations (q8_activations.h, one or two levels), on AVX-512
// VNNI.
// The weight is unpacked once per call into 16-row panels laid out for vpdpbusd (lane = weight row, 4 consecutive
// bytes of one row per lane); each activation row's 4 int8 values are broadcast, so one instruction does 64
// multiply-adds (16 for an fp32 FMA) and a 16-row x 8-activation-row register tile keeps every loaded value busy.
// Per 32-element block and tile, the int32 sums are converted once and scaled (weight scale x activation scale)
// and the offset term is one FMA with the activation block's sum — the same arithmetic as the Q8 GEMV path
// (quant_dot.h), so the two agree to fp32 rounding.
#pragma once

#include <cstdint>

#include "engine/backend/cpu/q8_activations.h"
#include "engine/backend/cpu/quant_dot.h"
#include "engine/backend/tensor.h"

namespace flux::engine::cpu {

// Whether int8_gemm multiplies this weight kind at this instruction-set level (AVX-512 VNNI only: below it the
// dequantized tiles x sgemm are faster than int8 emulated in 256-bit lanes without vpdpbusd).
bool int8_gemm_supports(DType w, Isa isa);

// out[r * ldo + o] = Σ_c w[o, c] · a[r, c] (+= with accumulate) for r < n, o < rows. w: `rows` rows of `cols` elements (a multiple of the
// type's block) in GGML blocks, as stored; a: n rows of cols / 32 Q8 blocks, their residual level read iff
// `residual`. Parallel (OpenMP) over activation-row chunks x weight-row panels. Requires int8_gemm_supports.
void int8_gemm(DType type, const uint8_t* w, int64_t rows, int64_t cols, const Q8Block* a, int64_t n, bool residual,
               float* out, int64_t ldo, bool accumulate);

}  // namespace flux::engine::cpu
