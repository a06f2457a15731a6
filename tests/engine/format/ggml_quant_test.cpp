// Dequantizers against blocks packed by hand from the block layouts in FORMATS.md / ggml-common.h, with expected
// values computed directly from the chosen d, m, scales and quants.
#include "engine/format/ggml_quant.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "engine/core/error.h"
#include "engine/format/tensor_convert.h"

namespace flux::engine {
namespace {

using Bytes = std::vector<uint8_t>;

void put_f16(Bytes& b, std::size_t at, float v) {
  const uint16_t h = f32_to_f16(v);
  ASSERT_EQ(f16_to_f32(h), v) << "test constants must be exact in f16";
  std::memcpy(b.data() + at, &h, 2);
}

std::vector<float> dequant(StorageType type, const Bytes& b, std::size_t n) {
  std::vector<float> out(n);
  dequantize(type, std::as_bytes(std::span<const uint8_t>(b)), out);
  return out;
}

void expect_all_eq(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) ASSERT_FLOAT_EQ(got[i], want[i]) << "element " << i;
}

TEST(QuantBlocks, SizesMatchGgml) {
  EXPECT_EQ(block_elems(StorageType::F32), 1);
  EXPECT_EQ(block_bytes(StorageType::BF16), 2);
  const std::pair<StorageType, std::pair<int, int>> table[] = {
      {StorageType::Q4_0, {32, 18}},   {StorageType::Q4_1, {32, 20}},  {StorageType::Q5_0, {32, 22}},
      {StorageType::Q5_1, {32, 24}},   {StorageType::Q8_0, {32, 34}},  {StorageType::Q4_K, {256, 144}},
      {StorageType::Q5_K, {256, 176}}, {StorageType::Q6_K, {256, 210}}};
  for (const auto& [type, eb] : table) {
    EXPECT_EQ(block_elems(type), eb.first) << storage_type_name(type);
    EXPECT_EQ(block_bytes(type), eb.second) << storage_type_name(type);
    EXPECT_TRUE(is_quantized(type));
  }
  EXPECT_EQ(tensor_bytes(StorageType::Q4_K, 512), 288);
  EXPECT_EQ(tensor_bytes(StorageType::F16, 3), 6);
}

TEST(QuantBlocks, TensorBytesRejectsPartialBlocksAndOverflow) {
  EXPECT_THROW(tensor_bytes(StorageType::Q4_0, 33), Error);
  try {
    tensor_bytes(StorageType::F64, int64_t{1} << 62);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("overflows"), std::string::npos) << e.what();
  }
}

TEST(QuantBlocks, GgmlTypeIds) {
  EXPECT_EQ(storage_type_from_ggml(0), StorageType::F32);
  EXPECT_EQ(storage_type_from_ggml(30), StorageType::BF16);
  EXPECT_EQ(storage_type_from_ggml(14), StorageType::Q6_K);
  EXPECT_FALSE(storage_type_from_ggml(4).has_value());   // removed Q4_2
  EXPECT_FALSE(storage_type_from_ggml(16).has_value());  // IQ2_XXS: unsupported
  EXPECT_STREQ(ggml_type_name(16), "IQ2_XXS");
  EXPECT_STREQ(ggml_type_name(39), "MXFP4");
  EXPECT_STREQ(ggml_type_name(4), "");
  EXPECT_STREQ(ggml_type_name(1000), "");
  for (uint32_t id : {10u, 11u, 20u, 23u}) {  // Q2_K, Q3_K, IQ4_NL, IQ4_XS
    const std::optional<StorageType> t = storage_type_from_ggml(id);
    ASSERT_TRUE(t.has_value()) << id;
    EXPECT_STREQ(storage_type_name(*t), ggml_type_name(id));
    EXPECT_EQ(ggml_type_id(*t), id);
  }
  EXPECT_EQ(ggml_type_id(StorageType::Q5_1), 7u);
  EXPECT_FALSE(ggml_type_id(StorageType::F8_E4M3).has_value());
  EXPECT_STREQ(storage_type_name(StorageType::Q4_K), "Q4_K");
  EXPECT_STREQ(storage_type_name(StorageType::Bool), "BOOL");
}

TEST(QuantDequant, Q4_0) {
  Bytes b(18);
  put_f16(b, 0, 0.5f);
  std::vector<int> q(32);
  for (int i = 0; i < 32; ++i) q[i] = (i * 3 + 1) % 16;
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
  std::vector<float> want(32);
  for (int i = 0; i < 32; ++i) want[i] = 0.5f * static_cast<float>(q[i] - 8);
  expect_all_eq(dequant(StorageType::Q4_0, b, 32), want);
}

TEST(QuantDequant, Q4_1) {
  Bytes b(20);
  put_f16(b, 0, 0.25f);
  put_f16(b, 2, -1.0f);
  std::vector<int> q(32);
  for (int i = 0; i < 32; ++i) q[i] = (i * 7) % 16;
  for (int j = 0; j < 16; ++j) b[4 + j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
  std::vector<float> want(32);
  for (int i = 0; i < 32; ++i) want[i] = 0.25f * static_cast<float>(q[i]) - 1.0f;
  expect_all_eq(dequant(StorageType::Q4_1, b, 32), want);
}

// Q5_0/Q5_1: bit i of the u32 qh is the fifth bit of element i.
Bytes pack_q5(const std::vector<int>& q, std::size_t qh_at) {
  Bytes b(qh_at + 4 + 16);
  uint32_t qh = 0;
  for (int i = 0; i < 32; ++i) qh |= static_cast<uint32_t>(q[i] >> 4) << i;
  std::memcpy(b.data() + qh_at, &qh, 4);
  for (int j = 0; j < 16; ++j) b[qh_at + 4 + j] = static_cast<uint8_t>((q[j] & 15) | ((q[j + 16] & 15) << 4));
  return b;
}

TEST(QuantDequant, Q5_0) {
  std::vector<int> q(32);
  for (int i = 0; i < 32; ++i) q[i] = (i * 11 + 5) % 32;
  Bytes b = pack_q5(q, 2);
  put_f16(b, 0, 0.125f);
  std::vector<float> want(32);
  for (int i = 0; i < 32; ++i) want[i] = 0.125f * static_cast<float>(q[i] - 16);
  expect_all_eq(dequant(StorageType::Q5_0, b, 32), want);
}

TEST(QuantDequant, Q5_1) {
  std::vector<int> q(32);
  for (int i = 0; i < 32; ++i) q[i] = (i * 5 + 3) % 32;
  Bytes b = pack_q5(q, 4);
  put_f16(b, 0, 0.5f);
  put_f16(b, 2, 2.0f);
  std::vector<float> want(32);
  for (int i = 0; i < 32; ++i) want[i] = 0.5f * static_cast<float>(q[i]) + 2.0f;
  expect_all_eq(dequant(StorageType::Q5_1, b, 32), want);
}

TEST(QuantDequant, Q8_0TwoBlocks) {
  Bytes b(68);
  put_f16(b, 0, 0.25f);
  put_f16(b, 34, -2.0f);
  std::vector<float> want(64);
  for (int i = 0; i < 64; ++i) {
    const int q = (i * 8) % 256 - 128;
    b[(i / 32) * 34 + 2 + i % 32] = static_cast<uint8_t>(static_cast<int8_t>(q));
    want[i] = (i < 32 ? 0.25f : -2.0f) * static_cast<float>(q);
  }
  expect_all_eq(dequant(StorageType::Q8_0, b, 64), want);
}

// K-quant 12-byte scale packing: sub-blocks 0-3 in the low 6 bits of bytes 0-3 (scale) / 4-7 (min); sub-blocks 4-7
// split into a low nibble in bytes 8-11 and two high bits in the top of bytes 0-3 / 4-7.
void pack_k_scales(uint8_t* s, const int sc[8], const int mn[8]) {
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((mn[j + 4] & 15) << 4));
  }
}

constexpr int kSc[8] = {1, 63, 17, 5, 40, 2, 33, 48};
constexpr int kMn[8] = {0, 7, 63, 20, 19, 36, 1, 50};

// Each 64 elements share 32 nibble bytes: element 64c + l in the low nibble of byte 32c + l, 64c + 32 + l high.
void pack_k_nibbles(uint8_t* qs, const std::vector<int>& q) {
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l)
      qs[32 * c + l] = static_cast<uint8_t>((q[64 * c + l] & 15) | ((q[64 * c + 32 + l] & 15) << 4));
}

TEST(QuantDequant, Q4_K) {
  Bytes b(144);
  put_f16(b, 0, 0.5f);
  put_f16(b, 2, 0.25f);
  pack_k_scales(b.data() + 4, kSc, kMn);
  std::vector<int> q(256);
  for (int i = 0; i < 256; ++i) q[i] = (i * 13 + i / 32) % 16;
  pack_k_nibbles(b.data() + 16, q);
  std::vector<float> want(256);
  for (int i = 0; i < 256; ++i)
    want[i] = 0.5f * static_cast<float>(kSc[i / 32] * q[i]) - 0.25f * static_cast<float>(kMn[i / 32]);
  expect_all_eq(dequant(StorageType::Q4_K, b, 256), want);
}

TEST(QuantDequant, Q5_K) {
  Bytes b(176);
  put_f16(b, 0, 0.125f);
  put_f16(b, 2, 1.5f);
  pack_k_scales(b.data() + 4, kSc, kMn);
  std::vector<int> q(256);
  for (int i = 0; i < 256; ++i) q[i] = (i * 7 + i / 64) % 32;
  for (int i = 0; i < 256; ++i) b[16 + i % 32] |= static_cast<uint8_t>((q[i] >> 4) << (i / 32));  // qh
  pack_k_nibbles(b.data() + 48, q);
  std::vector<float> want(256);
  for (int i = 0; i < 256; ++i)
    want[i] = 0.125f * static_cast<float>(kSc[i / 32] * q[i]) - 1.5f * static_cast<float>(kMn[i / 32]);
  expect_all_eq(dequant(StorageType::Q5_K, b, 256), want);
}

// Q6_K: element i = 128h + 32k + l takes its low nibble from ql[64h + l + 32(k & 1)] (low half for k < 2), its top
// two bits from bits 2k..2k+1 of qh[32h + l], and the int8 scale sc[i / 16].
TEST(QuantDequant, Q6_K) {
  Bytes b(210);
  std::vector<int> q(256);
  int8_t sc[16];
  for (int s = 0; s < 16; ++s) sc[s] = static_cast<int8_t>(s * 17 - 128);
  for (int i = 0; i < 256; ++i) {
    q[i] = (i * 29 + 3) % 64;
    const int h = i / 128, k = (i % 128) / 32, l = i % 32;
    uint8_t& ql = b[64 * h + l + 32 * (k & 1)];
    ql |= static_cast<uint8_t>((q[i] & 15) << (k < 2 ? 0 : 4));
    b[128 + 32 * h + l] |= static_cast<uint8_t>((q[i] >> 4) << (2 * k));
  }
  std::memcpy(b.data() + 192, sc, 16);
  put_f16(b, 208, 0.125f);
  std::vector<float> want(256);
  for (int i = 0; i < 256; ++i) want[i] = 0.125f * static_cast<float>(sc[i / 16] * (q[i] - 32));
  expect_all_eq(dequant(StorageType::Q6_K, b, 256), want);
}

TEST(QuantDequant, SizeMismatchIsAnError) {
  Bytes b(17);
  std::vector<float> out(32);
  EXPECT_THROW(dequantize(StorageType::Q4_0, std::as_bytes(std::span<const uint8_t>(b)), out), Error);
  EXPECT_THROW(dequantize_row(StorageType::I32, nullptr, out.data(), 0), Error);
}

}  // namespace
}  // namespace flux::engine
