// GGML block layouts decoded on the device (docs: ../shared/FORMATS.md; the host reference is
// engine/format/ggml_quant.cpp, which the GPU tests compare against). The unit is 32 consecutive elements of a row:
// one block of the 32-element types, one sub-block of the 256-element K types. unit_ints() is the one device
// definition of each layout: the unit's 32 quants as signed bytes packed four to an int (what __dp4a takes) and the
// affine map back to values, v[l] = a(l) * q[l] + b with a(l) = a0 for l < 16, a1 after (only Q6_K has two scales
// per unit). The decode GEMV dots the bytes with int8 activations; unit_values() (dequantizing kernel of prefill
// GEMMs and embeddings) applies the map.
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
// The alignment every block of a row keeps when the matrix starts 16-byte aligned (rows are whole blocks apart).
__host__ __device__ constexpr int quant_block_align(QuantType t) {
  const int b = quant_block_bytes(t);
  return b % 16 == 0 ? 16 : b % 8 == 0 ? 8 : b % 4 == 0 ? 4 : 2;
}

// One unit as __dp4a operands: 32 signed bytes and v[l] = (l < 16 ? a0 : a1) * q[l] + b.
struct UnitInts {
  int q[8];
  float a0, a1, b;
};

namespace quant_detail {

// N little-endian 32-bit words from p, read with the widest loads p's alignment A allows (global or shared memory).
template <int A, int N>
__device__ __forceinline__ void load_words(const uint8_t* p, uint32_t (&w)[N]) {
  if constexpr (A >= 16 && N % 4 == 0) {
#pragma unroll
    for (int i = 0; i < N / 4; ++i) {
      const uint4 v = reinterpret_cast<const uint4*>(p)[i];
      w[4 * i] = v.x, w[4 * i + 1] = v.y, w[4 * i + 2] = v.z, w[4 * i + 3] = v.w;
    }
  } else if constexpr (A >= 8 && N % 2 == 0) {
#pragma unroll
    for (int i = 0; i < N / 2; ++i) {
      const uint2 v = reinterpret_cast<const uint2*>(p)[i];
      w[2 * i] = v.x, w[2 * i + 1] = v.y;
    }
  } else if constexpr (A >= 4) {
#pragma unroll
    for (int i = 0; i < N; ++i) w[i] = reinterpret_cast<const uint32_t*>(p)[i];
  } else {
    const auto* h = reinterpret_cast<const uint16_t*>(p);
#pragma unroll
    for (int i = 0; i < N; ++i) w[i] = static_cast<uint32_t>(h[2 * i]) | (static_cast<uint32_t>(h[2 * i + 1]) << 16);
  }
}
__device__ __forceinline__ float f16_at(const uint8_t* p) {
  return __half2float(__ushort_as_half(*reinterpret_cast<const unsigned short*>(p)));
}
// Each byte of q minus c (q's bytes are 0..63, c <= 32: the results are the signed bytes q - c).
__device__ __forceinline__ int sub_bytes(int q, uint32_t c) {
  return static_cast<int>(__vsub4(static_cast<unsigned>(q), c * 0x01010101u));
}
// Bits 0..3 of h, one to bit 4 of each byte (the fifth bit of four Q5 quants).
__device__ __forceinline__ uint32_t spread_bit4(uint32_t h) {
  return ((h & 1u) << 4) | ((h & 2u) << 11) | ((h & 4u) << 18) | ((h & 8u) << 25);
}

// 6-bit scale and min of sub-block j of a Q4_K/Q5_K block's 12 scale bytes s (the layout the host reference
// names), by shifts: indexing s with j would put it in local memory.
__device__ __forceinline__ void scale_min_k4(int j, const uint32_t (&s)[3], int& sc, int& mn) {
  const int shift = 8 * (j & 3);
  const uint32_t b0 = s[0] >> shift, b1 = s[1] >> shift, b2 = s[2] >> shift;
  if (j < 4) {
    sc = static_cast<int>(b0 & 63);
    mn = static_cast<int>(b1 & 63);
  } else {
    sc = static_cast<int>((b2 & 0x0F) | ((b0 >> 2) & 0x30));
    mn = static_cast<int>(((b2 >> 4) & 0x0F) | ((b1 >> 2) & 0x30));
  }
}

}  // namespace quant_detail

// Unit j (0 for the 32-element types, 0..7 for the K types) of the block at b, read with alignment A (at least
// quant_block_align(T) where the matrix starts 16-byte aligned).
template <QuantType T, int A = quant_block_align(T)>
__device__ __forceinline__ UnitInts unit_ints(const uint8_t* __restrict__ b, int j) {
  using namespace quant_detail;
  UnitInts u;
  if constexpr (T == QuantType::Q4_0 || T == QuantType::Q4_1) {
    constexpr bool kMin = T == QuantType::Q4_1;
    uint32_t qs[4];
    load_words<(A < 4 ? A : 4), 4>(b + (kMin ? 4 : 2), qs);
    const float d = f16_at(b);
    u.a0 = u.a1 = d;
    u.b = kMin ? f16_at(b + 2) : 0.0f;
#pragma unroll
    for (int i = 0; i < 4; ++i) {  // element l: low nibble of byte l, element l + 16: its high nibble
      u.q[i] = static_cast<int>(qs[i] & 0x0F0F0F0Fu);
      u.q[i + 4] = static_cast<int>((qs[i] >> 4) & 0x0F0F0F0Fu);
      if constexpr (!kMin) u.q[i] = sub_bytes(u.q[i], 8), u.q[i + 4] = sub_bytes(u.q[i + 4], 8);
    }
  } else if constexpr (T == QuantType::Q5_0 || T == QuantType::Q5_1) {
    constexpr bool kMin = T == QuantType::Q5_1;
    uint32_t hq[5];  // qh (4 bytes) then qs (16 bytes)
    load_words<(A < 4 ? A : 4), 5>(b + (kMin ? 4 : 2), hq);
    const float d = f16_at(b);
    u.a0 = u.a1 = d;
    u.b = kMin ? f16_at(b + 2) : 0.0f;
    const uint32_t qh = hq[0];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      u.q[i] = static_cast<int>((hq[1 + i] & 0x0F0F0F0Fu) | spread_bit4(qh >> (4 * i)));
      u.q[i + 4] = static_cast<int>(((hq[1 + i] >> 4) & 0x0F0F0F0Fu) | spread_bit4(qh >> (16 + 4 * i)));
      if constexpr (!kMin) u.q[i] = sub_bytes(u.q[i], 16), u.q[i + 4] = sub_bytes(u.q[i + 4], 16);
    }
  } else if constexpr (T == QuantType::Q8_0) {
    uint32_t qs[8];
    load_words<A, 8>(b + 2, qs);
    u.a0 = u.a1 = f16_at(b);
    u.b = 0.0f;
#pragma unroll
    for (int i = 0; i < 8; ++i) u.q[i] = static_cast<int>(qs[i]);
  } else if constexpr (T == QuantType::Q4_K || T == QuantType::Q5_K) {
    // Sub-block j: 64 elements share 32 qs bytes (low nibbles for even j, high for odd j); Q5_K's bit j of qh[l]
    // is the fifth bit of element l.
    uint32_t scales[3], qs[8];
    load_words<4, 3>(b + 4, scales);
    load_words<A, 8>(b + (T == QuantType::Q4_K ? 16 : 48) + (j / 2) * 32, qs);
    int sc, mn;
    scale_min_k4(j, scales, sc, mn);
    u.a0 = u.a1 = f16_at(b) * static_cast<float>(sc);
    u.b = -f16_at(b + 2) * static_cast<float>(mn);
    const int shift = (j & 1) * 4;
#pragma unroll
    for (int i = 0; i < 8; ++i) u.q[i] = static_cast<int>((qs[i] >> shift) & 0x0F0F0F0Fu);
    if constexpr (T == QuantType::Q5_K) {
      uint32_t qh[8];
      load_words<A, 8>(b + 16, qh);
#pragma unroll
      for (int i = 0; i < 8; ++i) u.q[i] |= static_cast<int>(((qh[i] >> j) & 0x01010101u) << 4);
    }
  } else if constexpr (T == QuantType::Q6_K) {
    // Unit j = 4h + k of the block: half h, group k; element l takes its low nibble from ql[64h + l + 32(k & 1)]
    // (low for k < 2, high otherwise), its top two bits from bits 2k..2k+1 of qh[32h + l], and the scale
    // sc[8h + 2k + l / 16]; q - 32.
    const int h = j / 4, k = j % 4;
    uint32_t ql[8], qh[8];
    load_words<A, 8>(b + 64 * h + 32 * (k & 1), ql);
    load_words<A, 8>(b + 128 + 32 * h, qh);
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192 + 8 * h + 2 * k);
    const float d = f16_at(b + 208);
    u.a0 = d * static_cast<float>(sc[0]);
    u.a1 = d * static_cast<float>(sc[1]);
    u.b = 0.0f;
    const int shift = k < 2 ? 0 : 4;
#pragma unroll
    for (int i = 0; i < 8; ++i) {
      const uint32_t q = ((ql[i] >> shift) & 0x0F0F0F0Fu) | (((qh[i] >> (2 * k)) & 0x03030303u) << 4);
      u.q[i] = sub_bytes(static_cast<int>(q), 32);
    }
  }
  return u;
}

// The block holding unit u of a row and u's index in it.
template <QuantType T>
__device__ __forceinline__ const uint8_t* unit_block(const uint8_t* row, int64_t u, int& j) {
  constexpr int kUnits = quant_block_elems(T) / kQuantUnit;
  j = static_cast<int>(u % kUnits);
  return row + (u / kUnits) * quant_block_bytes(T);
}

// v[0..31] = the values of unit u (elements [32u, 32u + 32)) of a row that starts at `row` (16-byte aligned
// matrix).
template <QuantType T>
__device__ __forceinline__ void unit_values(const uint8_t* __restrict__ row, int64_t u, float (&v)[kQuantUnit]) {
  int j;
  const uint8_t* b = unit_block<T>(row, u, j);
  const UnitInts q = unit_ints<T>(b, j);
#pragma unroll
  for (int l = 0; l < kQuantUnit; ++l) {
    const int byte = static_cast<int8_t>(static_cast<uint32_t>(q.q[l / 4]) >> ((l % 4) * 8));
    v[l] = (l < 16 ? q.a0 : q.a1) * static_cast<float>(byte) + q.b;
  }
}

}  // namespace flux::kernels
