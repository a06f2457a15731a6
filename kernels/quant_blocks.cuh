// GGML block layouts decoded on the device (docs: ../shared/FORMATS.md; the host reference is
// engine/format/ggml_quant.cpp, which the GPU tests compare against). The unit is 32 consecutive elements of a row:
// one block of the 32-element types, one sub-block of the 256-element K types. unit_values() is the one device
// definition of each layout, used by the decode GEMV (values dotted in registers) and by the dequantizing kernel of
// prefill GEMMs and embeddings.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/quant_launch.h"

namespace flux::kernels {

constexpr int kQuantUnit = 32;

// Bytes and elements per block, as in the file.
__host__ __device__ constexpr int quant_block_bytes(QuantType t) {
  switch (t) {
    case QuantType::Q4_0: return 18;
    case QuantType::Q4_1: return 20;
    case QuantType::Q5_0: return 22;
    case QuantType::Q5_1: return 24;
    case QuantType::Q8_0: return 34;
    case QuantType::Q4_K: return 144;
    case QuantType::Q5_K: return 176;
    case QuantType::Q6_K: return 210;
  }
  return 0;
}
__host__ __device__ constexpr int quant_block_elems(QuantType t) {
  return t == QuantType::Q4_K || t == QuantType::Q5_K || t == QuantType::Q6_K ? 256 : 32;
}

namespace quant_detail {

// Every block type is at least 2-byte aligned in a row, so 16-bit loads are always legal; byte i of the span is
// byte i & 1 of word i / 2.
template <int Words>
__device__ __forceinline__ void load_u16(const uint8_t* p, uint16_t (&w)[Words]) {
  const auto* q = reinterpret_cast<const unsigned short*>(p);
#pragma unroll
  for (int i = 0; i < Words; ++i) w[i] = __ldg(q + i);
}
template <int Words>
__device__ __forceinline__ uint8_t byte_of(const uint16_t (&w)[Words], int i) {
  return static_cast<uint8_t>(w[i >> 1] >> ((i & 1) * 8));
}
__device__ __forceinline__ float f16_at(const uint8_t* p) {
  return __half2float(__ushort_as_half(__ldg(reinterpret_cast<const unsigned short*>(p))));
}

// 6-bit scale and min of sub-block j of a Q4_K/Q5_K block's 12 scale bytes (the layout the host reference names).
__device__ __forceinline__ void scale_min_k4(int j, const uint16_t (&s)[6], int& sc, int& mn) {
  if (j < 4) {
    sc = byte_of(s, j) & 63;
    mn = byte_of(s, j + 4) & 63;
  } else {
    sc = (byte_of(s, j + 4) & 0x0F) | ((byte_of(s, j - 4) >> 6) << 4);
    mn = (byte_of(s, j + 4) >> 4) | ((byte_of(s, j) >> 6) << 4);
  }
}

}  // namespace quant_detail

// v[0..31] = the values of unit u (elements [32u, 32u + 32)) of a row that starts at `row`.
template <QuantType T>
__device__ __forceinline__ void unit_values(const uint8_t* __restrict__ row, int64_t u, float (&v)[kQuantUnit]) {
  using namespace quant_detail;
  if constexpr (T == QuantType::Q4_0 || T == QuantType::Q4_1) {
    constexpr bool kMin = T == QuantType::Q4_1;
    const uint8_t* b = row + u * quant_block_bytes(T);
    const float d = f16_at(b);
    const float m = kMin ? f16_at(b + 2) : -8.0f * d;
    uint16_t qs[8];
    load_u16(b + (kMin ? 4 : 2), qs);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      const int q = byte_of(qs, j);
      v[j] = d * static_cast<float>(q & 0x0F) + m;
      v[j + 16] = d * static_cast<float>(q >> 4) + m;
    }
  } else if constexpr (T == QuantType::Q5_0 || T == QuantType::Q5_1) {
    constexpr bool kMin = T == QuantType::Q5_1;
    const uint8_t* b = row + u * quant_block_bytes(T);
    const float d = f16_at(b);
    const float m = kMin ? f16_at(b + 2) : -16.0f * d;
    uint16_t hq[10];  // qh (4 bytes) then qs (16 bytes)
    load_u16(b + (kMin ? 4 : 2), hq);
    const uint32_t qh = static_cast<uint32_t>(hq[0]) | (static_cast<uint32_t>(hq[1]) << 16);
#pragma unroll
    for (int j = 0; j < 16; ++j) {
      const int q = byte_of(hq, 4 + j);
      v[j] = d * static_cast<float>((q & 0x0F) | (((qh >> j) & 1u) << 4)) + m;
      v[j + 16] = d * static_cast<float>((q >> 4) | (((qh >> (j + 16)) & 1u) << 4)) + m;
    }
  } else if constexpr (T == QuantType::Q8_0) {
    const uint8_t* b = row + u * quant_block_bytes(T);
    const float d = f16_at(b);
    uint16_t qs[16];
    load_u16(b + 2, qs);
#pragma unroll
    for (int j = 0; j < 32; ++j) v[j] = d * static_cast<float>(static_cast<int8_t>(byte_of(qs, j)));
  } else if constexpr (T == QuantType::Q4_K || T == QuantType::Q5_K) {
    // Sub-block j of the block: 64 elements share 32 qs bytes (low nibbles for even j, high for odd j).
    const uint8_t* b = row + (u / 8) * quant_block_bytes(T);
    const int j = static_cast<int>(u % 8);
    const float d = f16_at(b), dmin = f16_at(b + 2);
    uint16_t scales[6];
    load_u16(b + 4, scales);
    int sc, mn;
    scale_min_k4(j, scales, sc, mn);
    const float ds = d * static_cast<float>(sc), dm = dmin * static_cast<float>(mn);
    const int shift = (j & 1) * 4;
    uint16_t qs[16];
    load_u16(b + (T == QuantType::Q4_K ? 16 : 48) + (j / 2) * 32, qs);
    if constexpr (T == QuantType::Q4_K) {
#pragma unroll
      for (int l = 0; l < 32; ++l) v[l] = ds * static_cast<float>((byte_of(qs, l) >> shift) & 0x0F) - dm;
    } else {
      uint16_t qh[16];  // bit j of qh[l] is the fifth bit of element l
      load_u16(b + 16, qh);
#pragma unroll
      for (int l = 0; l < 32; ++l) {
        const int q = ((byte_of(qs, l) >> shift) & 0x0F) | (((byte_of(qh, l) >> j) & 1) << 4);
        v[l] = ds * static_cast<float>(q) - dm;
      }
    }
  } else if constexpr (T == QuantType::Q6_K) {
    // Unit j = 4h + k of the block: half h, group k; element l takes its low nibble from ql[64h + l + 32(k & 1)]
    // (low for k < 2, high otherwise), its top two bits from bits 2k..2k+1 of qh[32h + l], and the scale
    // sc[8h + 2k + l / 16].
    const uint8_t* b = row + (u / 8) * quant_block_bytes(T);
    const int j = static_cast<int>(u % 8), h = j / 4, k = j % 4;
    const float d = f16_at(b + 208);
    uint16_t ql[16], qh[16];
    load_u16(b + 64 * h + 32 * (k & 1), ql);
    load_u16(b + 128 + 32 * h, qh);
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192 + 8 * h + 2 * k);
    const float d0 = d * static_cast<float>(sc[0]), d1 = d * static_cast<float>(sc[1]);
    const int shift = k < 2 ? 0 : 4;
#pragma unroll
    for (int l = 0; l < 32; ++l) {
      const int q = (((byte_of(ql, l) >> shift) & 0x0F) | (((byte_of(qh, l) >> (2 * k)) & 3) << 4)) - 32;
      v[l] = (l < 16 ? d0 : d1) * static_cast<float>(q);
    }
  }
}

}  // namespace flux::kernels
