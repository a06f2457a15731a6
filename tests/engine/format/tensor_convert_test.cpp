// f16/bf16 scalar conversions (exhaustive round trips, rounding ties) and to_f32 over TensorViews.
#include "engine/format/tensor_convert.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "engine/core/error.h"
#include "engine/format/ggml_quant.h"

namespace flux::engine {
namespace {

template <typename T>
TensorView view_of(const std::vector<T>& data, StorageType type, std::vector<int64_t> shape) {
  return TensorView{"test.weight", type, std::move(shape), std::as_bytes(std::span<const T>(data))};
}

TEST(QuantConvert, F16KnownValues) {
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));  // smallest subnormal
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));  // smallest normal
  EXPECT_TRUE(std::isinf(f16_to_f32(0xFC00)) && f16_to_f32(0xFC00) < 0);
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7E00)));
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
}

TEST(QuantConvert, F16RoundTripAllPatterns) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(f))));
      continue;
    }
    ASSERT_EQ(f32_to_f16(f), h) << std::hex << h;
  }
}

TEST(QuantConvert, F16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // tie -> even (down)
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie -> even (up)
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.1f, -11)), 0x3C01);      // above the tie
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7C00);                          // rounds to infinity
  EXPECT_EQ(f32_to_f16(1e-9f), 0x0000);
  EXPECT_EQ(f32_to_f16(std::ldexp(3.0f, -25)), 0x0002);  // subnormal tie 1.5 ulp -> 2
}

TEST(QuantConvert, Bf16RoundTripAndRounding) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = bf16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(f))));
      continue;
    }
    ASSERT_EQ(f32_to_bf16(f), h) << std::hex << h;
  }
  EXPECT_EQ(f32_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);        // tie -> even (down)
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);    // tie -> even (up)
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // overflow rounds to inf
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(QuantConvert, PlainFloatTypes) {
  const std::vector<float> f32 = {1.5f, -2.0f, 0.25f, 8.0f, -0.125f, 3.0f};
  std::vector<uint16_t> f16, bf16;
  std::vector<double> f64;
  for (float v : f32) {
    f16.push_back(f32_to_f16(v));
    bf16.push_back(f32_to_bf16(v));
    f64.push_back(v);
  }
  EXPECT_EQ(to_f32(view_of(f32, StorageType::F32, {2, 3})), f32);
  EXPECT_EQ(to_f32(view_of(f16, StorageType::F16, {2, 3})), f32);
  EXPECT_EQ(to_f32(view_of(bf16, StorageType::BF16, {3, 2})), f32);
  EXPECT_EQ(to_f32(view_of(f64, StorageType::F64, {6})), f32);
  std::vector<float> row(3);
  rows_to_f32(view_of(f16, StorageType::F16, {2, 3}), 1, 1, row);
  EXPECT_EQ(row, (std::vector<float>{8.0f, -0.125f, 3.0f}));
}

TEST(QuantConvert, RejectsNonFloatTypesAndBadSizes) {
  const std::vector<int32_t> ints = {1, 2, 3, 4};
  try {
    to_f32(view_of(ints, StorageType::I32, {4}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("test.weight: cannot convert I32"), std::string::npos) << e.what();
  }
  const std::vector<float> f = {1, 2, 3};
  EXPECT_THROW(to_f32(view_of(f, StorageType::F32, {4})), Error);  // bytes do not match the shape
  std::vector<float> small(2);
  EXPECT_THROW(to_f32(view_of(f, StorageType::F32, {3}), small), Error);
  EXPECT_THROW(rows_to_f32(view_of(f, StorageType::F32, {3, 1}), 2, 2, small), Error);
  const std::vector<uint8_t> q(18 * 2);
  EXPECT_THROW(to_f32(view_of(q, StorageType::Q4_0, {4, 16})), Error);  // rows of 16 split Q4_0 blocks
}

TEST(QuantConvert, LargeQuantTensorMatchesRowByRow) {
  // Large enough to take the OpenMP path; each row's result must equal a serial dequantize_row.
  const int rows = 512, cols = 512;
  const int64_t row_bytes = cols / 256 * 144;
  std::vector<uint8_t> data(static_cast<std::size_t>(rows * row_bytes));
  uint32_t s = 1;
  for (auto& b : data) b = static_cast<uint8_t>((s = s * 1664525u + 1013904223u) >> 24);
  for (int64_t blk = 0; blk < rows * cols / 256; ++blk) {  // keep d and dmin finite
    const uint16_t d = f32_to_f16(0.01f), dmin = f32_to_f16(0.02f);
    std::memcpy(data.data() + blk * 144, &d, 2);
    std::memcpy(data.data() + blk * 144 + 2, &dmin, 2);
  }
  const TensorView t = view_of(data, StorageType::Q4_K, {rows, cols});
  const std::vector<float> all = to_f32(t);
  std::vector<float> row(cols);
  for (int r = 0; r < rows; r += 97) {
    dequantize_row(StorageType::Q4_K, t.bytes.data() + r * row_bytes, row.data(), cols);
    for (int c = 0; c < cols; ++c) ASSERT_EQ(all[static_cast<std::size_t>(r * cols + c)], row[c]);
  }
  rows_to_f32(t, 300, 1, row);
  EXPECT_TRUE(std::equal(row.begin(), row.end(), all.begin() + 300 * cols));
}

}  // namespace
}  // namespace flux::engine
