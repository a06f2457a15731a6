// Conversion of tensor bytes in any float or GGML-quantized storage type to f32, plus the scalar f16/bf16 helpers
// every loader and writer shares (bit-exact, round-to-nearest-even, no compiler half-float extensions).
#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/tensor_view.h"

namespace flux::engine {

inline float bf16_to_f32(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

// Round-to-nearest-even; NaNs stay quiet NaNs instead of rounding into infinity.
inline uint16_t f32_to_bf16(float f) {
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x0040u);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// IEEE half to float without branches on the common path, so row loops vectorize (after M. Dukhan's FP16 library).
inline float f16_to_f32(uint16_t h) {
  const uint32_t w = static_cast<uint32_t>(h) << 16;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t two_w = w + w;
  const float normalized = std::bit_cast<float>((two_w >> 4) + (0xE0u << 23)) * 0x1.0p-112f;
  const float denormalized = std::bit_cast<float>((two_w >> 17) | (126u << 23)) - 0.5f;
  const uint32_t magnitude =
      two_w < (1u << 27) ? std::bit_cast<uint32_t>(denormalized) : std::bit_cast<uint32_t>(normalized);
  return std::bit_cast<float>(sign | magnitude);
}

// Float to IEEE half, round-to-nearest-even; overflow gives infinity, NaN gives a quiet NaN.
inline uint16_t f32_to_f16(float f) {
  float base = (std::bit_cast<float>(std::bit_cast<uint32_t>(f) & 0x7fffffffu) * 0x1.0p+112f) * 0x1.0p-110f;
  const uint32_t w = std::bit_cast<uint32_t>(f);
  const uint32_t shl1_w = w + w;
  const uint32_t sign = w & 0x80000000u;
  uint32_t bias = shl1_w & 0xFF000000u;
  if (bias < 0x71000000u) bias = 0x71000000u;
  base = std::bit_cast<float>((bias >> 1) + 0x07800000u) + base;
  const uint32_t bits = std::bit_cast<uint32_t>(base);
  const uint32_t nonsign = ((bits >> 13) & 0x00007C00u) + (bits & 0x00000FFFu);
  return static_cast<uint16_t>((sign >> 16) | (shl1_w > 0xFF000000u ? 0x7E00u : nonsign));
}

// True for the types to_f32 accepts: F32, F16, BF16, F64 and the GGML block quants.
bool is_float_storage(StorageType type);

// Writes all t.numel() values of t to out (out.size() must equal t.numel()). Throws Error naming the tensor for
// integer/bool/fp8 types, a byte size that does not match the shape, or a row not a whole number of blocks.
void to_f32(const TensorView& t, std::span<float> out);
std::vector<float> to_f32(const TensorView& t);

// Rows [row_begin, row_begin + n_rows) of t viewed as [numel / shape.back(), shape.back()] — e.g. one embedding row
// without dequantizing the whole table. out.size() must equal n_rows * shape.back().
void rows_to_f32(const TensorView& t, int64_t row_begin, int64_t n_rows, std::span<float> out);

}  // namespace flux::engine
