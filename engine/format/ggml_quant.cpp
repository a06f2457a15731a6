#include "engine/format/ggml_quant.h"

#include <cstring>
#include <iterator>
#include <limits>

#include "engine/core/error.h"
#include "engine/format/ggml_block_fields.h"
#include "engine/format/tensor_convert.h"

namespace flux::engine {
namespace {

constexpr int kQK = 32;    // elements per block of Q4_0..Q8_0
constexpr int kQKK = 256;  // elements per K-quant super-block

void dequant_q4_0(const uint8_t* x, float* y, int64_t nb) {  // d, qs[16]
  for (int64_t i = 0; i < nb; ++i, x += 18, y += kQK) {
    const float d = load_f16(x);
    const uint8_t* qs = x + 2;
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = d * static_cast<float>((qs[j] & 0x0F) - 8);
      y[j + kQK / 2] = d * static_cast<float>((qs[j] >> 4) - 8);
    }
  }
}

void dequant_q4_1(const uint8_t* x, float* y, int64_t nb) {  // d, m, qs[16]
  for (int64_t i = 0; i < nb; ++i, x += 20, y += kQK) {
    const float d = load_f16(x);
    const float m = load_f16(x + 2);
    const uint8_t* qs = x + 4;
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = d * static_cast<float>(qs[j] & 0x0F) + m;
      y[j + kQK / 2] = d * static_cast<float>(qs[j] >> 4) + m;
    }
  }
}

// Q5_0/Q5_1: bit j of qh is the fifth bit of element j (j < 16 low nibbles, j >= 16 high nibbles).
void dequant_q5(const uint8_t* x, float* y, int64_t nb, bool has_min) {
  const int stride = has_min ? 24 : 22;
  for (int64_t i = 0; i < nb; ++i, x += stride, y += kQK) {
    const float d = load_f16(x);
    const float m = has_min ? load_f16(x + 2) : 0.0f;
    const int offset = has_min ? 0 : 16;
    const uint8_t* p = x + (has_min ? 4 : 2);
    uint32_t qh;
    std::memcpy(&qh, p, sizeof qh);
    const uint8_t* qs = p + 4;
    for (int j = 0; j < kQK / 2; ++j) {
      const int hi0 = static_cast<int>((qh >> j) & 1u) << 4;
      const int hi1 = static_cast<int>((qh >> (j + 16)) & 1u) << 4;
      y[j] = d * static_cast<float>(((qs[j] & 0x0F) | hi0) - offset) + m;
      y[j + kQK / 2] = d * static_cast<float>(((qs[j] >> 4) | hi1) - offset) + m;
    }
  }
}

void dequant_q8_0(const uint8_t* x, float* y, int64_t nb) {  // d, qs[32] (int8)
  for (int64_t i = 0; i < nb; ++i, x += 34, y += kQK) {
    const float d = load_f16(x);
    for (int j = 0; j < kQK; ++j) y[j] = d * static_cast<float>(static_cast<int8_t>(x[2 + j]));
  }
}

// Q4_K: d, dmin, scales[12], qs[128]; each 64 elements share 32 bytes, low nibbles first.
void dequant_q4_k(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 144) {
    const float d = load_f16(x);
    const float dmin = load_f16(x + 2);
    const uint8_t* scales = x + 4;
    const uint8_t* q = x + 16;
    for (int j = 0, is = 0; j < kQKK; j += 64, q += 32, is += 2) {
      int sc, mn;
      scale_min_k4(is, scales, sc, mn);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(mn);
      scale_min_k4(is + 1, scales, sc, mn);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(mn);
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0x0F) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

// Q5_K: d, dmin, scales[12], qh[32], qs[128]; as Q4_K plus a fifth bit: for the k-th 32-element sub-block, bit k
// of qh[l] belongs to element l.
void dequant_q5_k(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 176) {
    const float d = load_f16(x);
    const float dmin = load_f16(x + 2);
    const uint8_t* scales = x + 4;
    const uint8_t* qh = x + 16;
    const uint8_t* ql = x + 48;
    int shift = 0;
    for (int j = 0, is = 0; j < kQKK; j += 64, ql += 32, is += 2, shift += 2) {
      int sc, mn;
      scale_min_k4(is, scales, sc, mn);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(mn);
      scale_min_k4(is + 1, scales, sc, mn);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(mn);
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((ql[l] & 0x0F) | (((qh[l] >> shift) & 1) << 4)) - m1;
      for (int l = 0; l < 32; ++l)
        *y++ = d2 * static_cast<float>((ql[l] >> 4) | (((qh[l] >> (shift + 1)) & 1) << 4)) - m2;
    }
  }
}

// Q6_K: ql[128], qh[64], scales[16] (int8), d. Each half (128 elements) uses 64 ql bytes and 32 qh bytes: element
// l + 32k takes its low nibble from ql[l + 32(k&1)] (low nibble for k < 2, high for k >= 2) and its top two bits
// from bits 2k..2k+1 of qh[l]; scales are per 16 elements.
void dequant_q6_k(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 210) {
    const uint8_t* ql = x;
    const uint8_t* qh = x + 128;
    const int8_t* sc = reinterpret_cast<const int8_t*>(x + 192);
    const float d = load_f16(x + 208);
    for (int n = 0; n < kQKK; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is] * q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2] * q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4] * q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6] * q4);
      }
    }
  }
}

// Q2_K: scales[16] (low nibble scale, high nibble min, per 16 elements), qs[64], d, dmin. Each half (128 elements)
// reads 32 qs bytes four times, two bits at a time from the low end: element 32s + l of the half is bits 2s..2s+1 of
// qs[l].
void dequant_q2_k(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 84) {
    const uint8_t* scales = x;
    const float d = load_f16(x + 80);
    const float dmin = load_f16(x + 82);
    for (int e = 0; e < kQKK; ++e) {
      const uint8_t sc = scales[e / 16];
      const int q = (x[16 + (e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
      y[e] = d * static_cast<float>(sc & 0x0F) * static_cast<float>(q) - dmin * static_cast<float>(sc >> 4);
    }
    y += kQKK;
  }
}

// Q3_K: hmask[32], qs[64], scales[12], d. Element e: two low bits as in Q2_K, and bit e / 32 of hmask[e % 32] set
// means no offset, clear means -4. The 16 six-bit scales (minus 32): low nibbles from bytes 0-7 (scales 8-15 in the
// high nibbles), top two bits from bytes 8-11, two bits per scale, scale i at byte 8 + i % 4, bits 2(i / 4).
void dequant_q3_k(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 110, y += kQKK) {
    const uint8_t* hmask = x;
    const uint8_t* qs = x + 32;
    const uint8_t* packed = x + 96;
    const float d = load_f16(x + 108);
    int scale[16];
    for (int s = 0; s < 16; ++s) {
      const int low = (packed[s % 8] >> (4 * (s / 8))) & 0x0F;
      const int high = (packed[8 + s % 4] >> (2 * (s / 4))) & 3;
      scale[s] = (low | (high << 4)) - 32;
    }
    for (int e = 0; e < kQKK; ++e) {
      const int low = (qs[(e / 128) * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
      const int q = low - (((hmask[e % 32] >> (e / 32)) & 1) ? 0 : 4);
      y[e] = d * static_cast<float>(scale[e / 16] * q);
    }
  }
}

// The 16 non-linear levels of IQ4_NL and IQ4_XS (ggml's kvalues_iq4nl).
constexpr int8_t kIq4Levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

// 32 elements from 16 bytes of 4-bit level indices: low nibbles first, then high nibbles.
inline void iq4_levels(const uint8_t* qs, float scale, float* y) {
  for (int j = 0; j < 16; ++j) {
    y[j] = scale * static_cast<float>(kIq4Levels[qs[j] & 0x0F]);
    y[j + 16] = scale * static_cast<float>(kIq4Levels[qs[j] >> 4]);
  }
}

void dequant_iq4_nl(const uint8_t* x, float* y, int64_t nb) {  // d, qs[16]
  for (int64_t i = 0; i < nb; ++i, x += 18, y += kQK) iq4_levels(x + 2, load_f16(x), y);
}

// IQ4_XS: d, scales_h (u16), scales_l[4], qs[128]; 8 sub-blocks of 32 with six-bit scales (minus 32): low nibble
// from scales_l[ib / 2] (low half first), top two bits from bits 2ib..2ib+1 of scales_h.
void dequant_iq4_xs(const uint8_t* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += 136) {
    const float d = load_f16(x);
    uint16_t scales_h;
    std::memcpy(&scales_h, x + 2, sizeof scales_h);
    const uint8_t* scales_l = x + 4;
    const uint8_t* qs = x + 8;
    for (int ib = 0; ib < kQKK / 32; ++ib, qs += 16, y += 32) {
      const int ls = ((scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F) | (((scales_h >> (2 * ib)) & 3) << 4);
      iq4_levels(qs, d * static_cast<float>(ls - 32), y);
    }
  }
}

}  // namespace

int64_t block_elems(StorageType type) {
  switch (type) {
    case StorageType::Q4_0:
    case StorageType::Q4_1:
    case StorageType::Q5_0:
    case StorageType::Q5_1:
    case StorageType::Q8_0:
    case StorageType::IQ4_NL:
      return kQK;
    case StorageType::Q4_K:
    case StorageType::Q5_K:
    case StorageType::Q6_K:
    case StorageType::Q2_K:
    case StorageType::Q3_K:
    case StorageType::IQ4_XS:
      return kQKK;
    default:
      return 1;
  }
}

int64_t block_bytes(StorageType type) {
  switch (type) {
    case StorageType::F32:
    case StorageType::I32:
      return 4;
    case StorageType::F16:
    case StorageType::BF16:
    case StorageType::I16:
      return 2;
    case StorageType::F64:
    case StorageType::I64:
      return 8;
    case StorageType::I8:
    case StorageType::U8:
    case StorageType::Bool:
    case StorageType::F8_E4M3:
    case StorageType::F8_E5M2:
      return 1;
    case StorageType::Q4_0:
      return 18;
    case StorageType::Q4_1:
      return 20;
    case StorageType::Q5_0:
      return 22;
    case StorageType::Q5_1:
      return 24;
    case StorageType::Q8_0:
      return 34;
    case StorageType::Q4_K:
      return 144;
    case StorageType::Q5_K:
      return 176;
    case StorageType::Q6_K:
      return 210;
    case StorageType::Q2_K:
      return 84;
    case StorageType::Q3_K:
      return 110;
    case StorageType::IQ4_NL:
      return 18;
    case StorageType::IQ4_XS:
      return 136;
  }
  fail("unknown storage type {}", static_cast<int>(type));
}

bool is_quantized(StorageType type) {
  return block_elems(type) > 1;
}

int64_t tensor_bytes(StorageType type, int64_t numel) {
  const int64_t be = block_elems(type);
  require(numel >= 0, "negative element count {} for a {} tensor", numel, storage_type_name(type));
  require(numel % be == 0, "{} elements are not a whole number of {} blocks of {}", numel, storage_type_name(type), be);
  int64_t bytes = 0;
  require(!__builtin_mul_overflow(numel / be, block_bytes(type), &bytes),
          "size of a {} tensor of {} elements overflows", storage_type_name(type), numel);
  return bytes;
}

std::optional<StorageType> storage_type_from_ggml(uint32_t id) {
  switch (id) {
    case 0:
      return StorageType::F32;
    case 1:
      return StorageType::F16;
    case 2:
      return StorageType::Q4_0;
    case 3:
      return StorageType::Q4_1;
    case 6:
      return StorageType::Q5_0;
    case 7:
      return StorageType::Q5_1;
    case 8:
      return StorageType::Q8_0;
    case 10:
      return StorageType::Q2_K;
    case 11:
      return StorageType::Q3_K;
    case 12:
      return StorageType::Q4_K;
    case 13:
      return StorageType::Q5_K;
    case 14:
      return StorageType::Q6_K;
    case 20:
      return StorageType::IQ4_NL;
    case 23:
      return StorageType::IQ4_XS;
    case 24:
      return StorageType::I8;
    case 25:
      return StorageType::I16;
    case 26:
      return StorageType::I32;
    case 27:
      return StorageType::I64;
    case 28:
      return StorageType::F64;
    case 30:
      return StorageType::BF16;
    default:
      return std::nullopt;
  }
}

std::optional<uint32_t> ggml_type_id(StorageType type) {
  for (uint32_t id = 0; id <= 30; ++id)
    if (storage_type_from_ggml(id) == type) return id;
  return std::nullopt;
}

const char* ggml_type_name(uint32_t id) {
  // ggml.h's enum ggml_type; 4, 5 and 31-33 are retired ids.
  static constexpr const char* kNames[] = {
      "F32",  "F16",     "Q4_0",  "Q4_1",   "",       "",        "Q5_0",  "Q5_1",  "Q8_0",   "Q8_1",  "Q2_K",
      "Q3_K", "Q4_K",    "Q5_K",  "Q6_K",   "Q8_K",   "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S",
      "IQ2_S", "IQ4_XS", "I8",    "I16",    "I32",    "I64",     "F64",   "IQ1_M", "BF16",   "",      "",      "",
      "TQ1_0", "TQ2_0",  "",      "",       "",       "MXFP4"};
  return id < std::size(kNames) ? kNames[id] : "";
}

void dequantize_row(StorageType type, const std::byte* src, float* dst, int64_t n) {
  const auto* x = reinterpret_cast<const uint8_t*>(src);
  const int64_t nb = n / block_elems(type);
  switch (type) {
    case StorageType::F32:
      std::memcpy(dst, src, static_cast<std::size_t>(n) * sizeof(float));
      return;
    case StorageType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = load_f16(x + 2 * i);
      return;
    case StorageType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, x + 2 * i, sizeof h);
        dst[i] = bf16_to_f32(h);
      }
      return;
    case StorageType::Q4_0:
      dequant_q4_0(x, dst, nb);
      return;
    case StorageType::Q4_1:
      dequant_q4_1(x, dst, nb);
      return;
    case StorageType::Q5_0:
      dequant_q5(x, dst, nb, false);
      return;
    case StorageType::Q5_1:
      dequant_q5(x, dst, nb, true);
      return;
    case StorageType::Q8_0:
      dequant_q8_0(x, dst, nb);
      return;
    case StorageType::Q4_K:
      dequant_q4_k(x, dst, nb);
      return;
    case StorageType::Q5_K:
      dequant_q5_k(x, dst, nb);
      return;
    case StorageType::Q6_K:
      dequant_q6_k(x, dst, nb);
      return;
    case StorageType::Q2_K:
      dequant_q2_k(x, dst, nb);
      return;
    case StorageType::Q3_K:
      dequant_q3_k(x, dst, nb);
      return;
    case StorageType::IQ4_NL:
      dequant_iq4_nl(x, dst, nb);
      return;
    case StorageType::IQ4_XS:
      dequant_iq4_xs(x, dst, nb);
      return;
    default:
      fail("cannot dequantize storage type {} to f32", storage_type_name(type));
  }
}

void dequantize(StorageType type, std::span<const std::byte> src, std::span<float> dst) {
  const auto n = static_cast<int64_t>(dst.size());
  const int64_t expected = tensor_bytes(type, n);
  require(static_cast<int64_t>(src.size()) == expected, "{} elements of {} need {} bytes, got {}", n,
          storage_type_name(type), expected, src.size());
  dequantize_row(type, src.data(), dst.data(), n);
}

}  // namespace flux::engine
