#include "engine/backend/random_blocks.h"

#include <algorithm>
#include <cstring>

#include "engine/backend/random_fill.h"
#include "engine/core/error.h"
#include "engine/format/ggml_quant.h"
#include "engine/format/tensor_convert.h"

namespace flux::engine {
namespace {

struct ScaleFields {
  int d_at, m_at;  // byte offsets of the fp16 scale and min (-1: none)
  float d_max;     // largest scale (times `scale`) that keeps every value within [-scale, scale]
  float m_value;   // the min field (times `scale`)
};

ScaleFields scale_fields(StorageType type) {
  switch (type) {
    case StorageType::Q4_0:
      return {0, -1, 1.0f / 8, 0};  // d (q - 8), q < 16
    case StorageType::Q4_1:
      return {0, 2, 2.0f / 15, -1.0f};  // d q + m
    case StorageType::Q5_0:
      return {0, -1, 1.0f / 16, 0};  // d (q - 16), q < 32
    case StorageType::Q5_1:
      return {0, 2, 2.0f / 31, -1.0f};
    case StorageType::Q8_0:
      return {0, -1, 1.0f / 128, 0};  // d q, |q| <= 128
    case StorageType::Q4_K:
      return {0, 2, 1.0f / (63 * 15), 1.0f / 63};  // d sc q - dmin mn, sc, mn < 64
    case StorageType::Q5_K:
      return {0, 2, 1.0f / (63 * 31), 1.0f / 63};
    case StorageType::Q6_K:
      return {208, -1, 1.0f / (128 * 32), 0};  // d sc (q - 32), |sc| <= 128
    default:
      fail("random weights cannot be stored as {}", storage_type_name(type));
  }
}

void store_f16(std::byte* p, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, sizeof h);
}

}  // namespace

void fill_random_blocks(StorageType type, std::span<std::byte> out, int64_t rows, int64_t cols, float scale,
                        uint64_t seed) {
  require(static_cast<int64_t>(out.size()) == tensor_bytes(type, rows * cols), "random blocks: buffer size mismatch");
  if (type == StorageType::F16 || type == StorageType::BF16) {
#pragma omp parallel for
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const float v = random_uniform(seed, static_cast<uint64_t>(r * cols + c), scale);
        const uint16_t h = type == StorageType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
        std::memcpy(out.data() + 2 * (r * cols + c), &h, sizeof h);
      }
    return;
  }
  const ScaleFields f = scale_fields(type);
  const int64_t bb = block_bytes(type), blocks = rows * cols / block_elems(type);
  const uint64_t s = mix64(seed);
#pragma omp parallel for schedule(static, 4096)
  for (int64_t b = 0; b < blocks; ++b) {
    std::byte* blk = out.data() + b * bb;
    for (int64_t i = 0; i < bb; i += 8) {
      const uint64_t word = mix64(s ^ (static_cast<uint64_t>(b) * 64 + static_cast<uint64_t>(i / 8)));
      std::memcpy(blk + i, &word, static_cast<std::size_t>(std::min<int64_t>(8, bb - i)));
    }
    const float fraction = 0.25f + 0.75f * static_cast<float>(mix64(s + static_cast<uint64_t>(b)) >> 40) / 16777216.0f;
    store_f16(blk + f.d_at, f.d_max * scale * fraction);
    if (f.m_at >= 0) store_f16(blk + f.m_at, f.m_value * scale * fraction);
  }
}

}  // namespace flux::engine
