// Block layout of every storage type (GGML quants and plain types) and the reference dequantizers of GGML's block
// quants, ported from ggml-quants.c so GGUF weights can be read without linking ggml.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "engine/core/tensor_view.h"

namespace flux::engine {

// Elements per block: 1 for plain types, 32 for Q4_0..Q8_0 and IQ4_NL, 256 for the K-quants and IQ4_XS.
int64_t block_elems(StorageType type);
// Bytes per block (for plain types, the element size).
int64_t block_bytes(StorageType type);
bool is_quantized(StorageType type);

// Bytes of a tensor of numel elements. Throws Error if numel is negative, not a whole number of blocks, or the size
// overflows int64.
int64_t tensor_bytes(StorageType type, int64_t numel);

// GGML type ids (ggml_type) <-> StorageType; std::nullopt for ids this engine cannot read.
std::optional<StorageType> storage_type_from_ggml(uint32_t ggml_type);
std::optional<uint32_t> ggml_type_id(StorageType type);
// ggml's name of a type id ("IQ2_XXS", "TQ1_0", …), also for the ids this engine cannot read; "" for unknown ids.
const char* ggml_type_name(uint32_t ggml_type);

// Dequantizes n elements (a whole number of blocks) starting at src, which must hold
// n / block_elems(type) * block_bytes(type) bytes. Accepts F32, F16, BF16 and the quants; no checks beyond the
// type (callers validate sizes once per tensor, not per row). Throws Error for other types.
void dequantize_row(StorageType type, const std::byte* src, float* dst, int64_t n);

// Bounds-checked variant: src.size() must be exactly the bytes of dst.size() elements.
void dequantize(StorageType type, std::span<const std::byte> src, std::span<float> dst);

}  // namespace flux::engine
