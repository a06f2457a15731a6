// out = x · wᵀ on the CPU for a weight kept in its file's storage (weight_dtype.h): block quants through Q8
// activations and the quant_dot.h bodies (decode and short prefills; 16-bit weights: half_dot.h), or, for long
// prefills, an int8 GEMM (int8_gemm.h: AVX-512 VNNI, block quants with one scale per 32 elements) or else tiles of
// weight rows dequantized to fp32 and multiplied by cblas_sgemm. bench/RESULTS.md has the measurements that pick
// the crossover.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "engine/backend/tensor.h"

namespace flux::engine::cpu {

// Int8: int8_gemm.h where it supports the weight at the active ISA level, else DequantTile.
enum class GemmPath : uint8_t { Auto, Q8, DequantTile, Int8 };

// Activation rows from which Auto takes Int8 (or DequantTile) instead of the Q8 GEMV.
constexpr int64_t kDequantTileMinRows = 16;

// x [n, in] fp32, w [out, in] in any non-F32 weight dtype, out [n, out] fp32. Parallel over blocks of output rows
// (OpenMP, dynamic schedule) with the threads the backend set.
void weight_matmul(const Tensor& x, const Tensor& w, Tensor& out);

// What a product's activations are: the prefill int8 GEMM takes its activation precision from this (one or two Q8
// levels, kPrefillLevels in weight_matmul.cpp, chosen by measurement: docs/cpu-engine.md).
enum class ProductKind : uint8_t {
  Qkv,          // q/k/v of the RMS-normed rows
  GateUp,       // gate/up of the RMS-normed rows
  ResidualAdd,  // o_proj (attention output) and down_proj (SwiGLU output), added into the residual
  Plain,        // anything else (the lm_head)
};

// One product of a group: *out = x · wᵀ (or += with accumulate).
struct WeightProduct {
  const Tensor* w;
  Tensor* out;
};
// Several block-quant weights times the same x in one parallel region (x quantized once, one fork/join): the decode
// layer's q/k/v, gate/up, and o/down with their residual added in place; for long prefills on the Int8 path, x is
// quantized once and each weight is one int8 GEMM. Returns false, doing nothing, unless every weight is a block quant
// on the same path, Q8 or Int8, for x's rows; the caller then multiplies them one by one.
bool weight_matmul_group(const Tensor& x, std::span<const WeightProduct> products, bool accumulate, ProductKind kind);

// The path Auto takes for n activation rows at the active ISA level; force_gemm_path (or FLUX_CPU_GEMM=q8|tile|int8)
// overrides it. For F16/BF16
// weights "Q8" means their direct GEMV (half_dot.h: fp32 activations, weights widened in registers).
GemmPath gemm_path(DType weight, int64_t n);
void force_gemm_path(GemmPath path);

// Whether activations are quantized in two levels (q8_activations.h) for a product of `kind` on `path`: by default
// always on the Q8 (decode) path, per kPrefillLevels on the Int8 path; force_residual_activations (or FLUX_CPU_ACT=
// q8|q8x2) sets one level or two for every product.
bool activations_have_residual(ProductKind kind, GemmPath path);
void force_residual_activations(std::optional<bool> on);  // nullopt: back to the default / FLUX_CPU_ACT

// Measurement only: when set, the Q8 and Int8 paths pass a copy of each activation matrix [rows, cols] through `f`
// before quantizing it (tests/engine/model/activation_precision_test.cpp emulates precisions with it). nullptr: off.
using ActivationFilter = void (*)(ProductKind kind, float* x, int64_t rows, int64_t cols);
void set_activation_filter(ActivationFilter f);

// Row `row` of w as fp32 (embedding lookups).
void weight_row_f32(const Tensor& w, int64_t row, float* out);

// What multiplies what for a weight of this dtype, for reports: "q4_1 x q8x2" (two-level Q8 activations), "q4_1 x
// q8", "bf16 x f32", "f32" -- the decode path's (a long prefill may use one level for some products: kPrefillLevels).
std::string execution_type(DType weight);

}  // namespace flux::engine::cpu
