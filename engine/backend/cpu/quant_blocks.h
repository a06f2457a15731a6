// GGML block layouts (FORMATS.md, ggml_quant.cpp) read as 32-element sub-blocks: unsigned integer values q with a
// scale and an offset per 16-element half (value = scale * q + offset), the form every dot-product body consumes.
// Header-only and plain C++ so the per-ISA files share it.
#pragma once

#include <cstdint>
#include <cstring>

#include "engine/backend/tensor.h"
#include "engine/format/ggml_block_fields.h"
#include "engine/format/tensor_convert.h"

namespace flux::engine::cpu {

// load_f16 and scale_min_k4: engine/format/ggml_block_fields.h (one host definition).
struct BlockShape {
  int elems;  // per block
  int bytes;
};

constexpr BlockShape block_shape(DType t) {
  switch (t) {
    case DType::Q4_0:
      return {32, 18};
    case DType::Q4_1:
      return {32, 20};
    case DType::Q5_0:
      return {32, 22};
    case DType::Q5_1:
      return {32, 24};
    case DType::Q8_0:
      return {32, 34};
    case DType::Q4_K:
      return {256, 144};
    case DType::Q5_K:
      return {256, 176};
    case DType::Q6_K:
      return {256, 210};
    default:
      return {1, 0};
  }
}

// Sub-block s (0..elems/32) of the block at x: q[32] (signed only for Q8_0), scale and offset per half.
struct SubBlock {
  int q[32];
  float scale[2];
  float offset[2];
};

inline void unpack_sub(DType t, const uint8_t* x, int s, SubBlock& out) {
  auto uniform = [&](float scale, float offset) {
    out.scale[0] = out.scale[1] = scale;
    out.offset[0] = out.offset[1] = offset;
  };
  auto nibbles = [&](const uint8_t* qs) {
    for (int j = 0; j < 16; ++j) {
      out.q[j] = qs[j] & 0x0F;
      out.q[j + 16] = qs[j] >> 4;
    }
  };
  auto fifth_bits = [&](const uint8_t* qh) {
    uint32_t h;
    std::memcpy(&h, qh, sizeof h);
    for (int j = 0; j < 32; ++j) out.q[j] |= static_cast<int>((h >> j) & 1u) << 4;
  };
  switch (t) {
    case DType::Q4_0: {
      const float d = load_f16(x);
      nibbles(x + 2);
      uniform(d, -8.0f * d);
      return;
    }
    case DType::Q4_1:
      nibbles(x + 4);
      uniform(load_f16(x), load_f16(x + 2));
      return;
    case DType::Q5_0: {
      const float d = load_f16(x);
      nibbles(x + 6);
      fifth_bits(x + 2);
      uniform(d, -16.0f * d);
      return;
    }
    case DType::Q5_1:
      nibbles(x + 8);
      fifth_bits(x + 4);
      uniform(load_f16(x), load_f16(x + 2));
      return;
    case DType::Q8_0:
      for (int j = 0; j < 32; ++j) out.q[j] = static_cast<int8_t>(x[2 + j]);
      uniform(load_f16(x), 0.0f);
      return;
    case DType::Q4_K:
    case DType::Q5_K: {
      // Sub-blocks 2p and 2p+1 share 32 bytes of nibbles (low first); Q5_K's fifth bit s of qh[l] is element l's.
      const bool five = t == DType::Q5_K;
      const uint8_t* qs = x + (five ? 48 : 16) + 32 * (s / 2);
      for (int l = 0; l < 32; ++l) out.q[l] = (s % 2 == 0) ? (qs[l] & 0x0F) : (qs[l] >> 4);
      if (five)
        for (int l = 0; l < 32; ++l) out.q[l] |= ((x[16 + l] >> s) & 1) << 4;
      int sc, mn;
      scale_min_k4(s, x + 4, sc, mn);
      uniform(load_f16(x) * static_cast<float>(sc), -load_f16(x + 2) * static_cast<float>(mn));
      return;
    }
    case DType::Q6_K: {
      // Half n = s / 4 of 128 elements, quarter k = s % 4: low nibble from ql[l + 32(k&1)] (high nibble for k >= 2),
      // top two bits from bits 2k of qh[l]; int8 scales per 16 elements; values minus 32.
      const int n = s / 4, k = s % 4;
      const uint8_t* ql = x + 64 * n + 32 * (k & 1);
      const uint8_t* qh = x + 128 + 32 * n;
      const auto* sc = reinterpret_cast<const int8_t*>(x + 192 + 8 * n);
      const float d = load_f16(x + 208);
      for (int l = 0; l < 32; ++l) out.q[l] = ((k < 2 ? ql[l] & 0x0F : ql[l] >> 4)) | (((qh[l] >> (2 * k)) & 3) << 4);
      for (int h = 0; h < 2; ++h) {
        out.scale[h] = d * static_cast<float>(sc[2 * k + h]);
        out.offset[h] = -32.0f * out.scale[h];
      }
      return;
    }
    default:
      uniform(0.0f, 0.0f);
  }
}

}  // namespace flux::engine::cpu
