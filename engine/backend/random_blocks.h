// Random GGML blocks of real layout, for random-weight models stored quantized (--random-quant) and for the
// kernel tests: every byte of a block is drawn from (seed, row, block), then the fp16 scales are set so that each
// value lies within [-scale, scale], each block's scale a random fraction (1/4..1) of the largest that fits.
// No fp32 copy of the tensor exists at any point.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "engine/core/tensor_view.h"

namespace flux::engine {

// Types it makes: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K, F16, BF16 (16-bit: uniform values). Throws Error
// for others. out holds tensor_bytes(type, rows * cols) bytes.
void fill_random_blocks(StorageType type, std::span<std::byte> out, int64_t rows, int64_t cols, float scale,
                        uint64_t seed);

}  // namespace flux::engine
