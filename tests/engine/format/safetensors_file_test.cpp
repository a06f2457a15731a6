// SafetensorsFile validation (as the reference library), SafetensorsModel sharding, and the writer round trip.
#include "tests/engine/support/error_of.h"
#include "engine/format/safetensors_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "engine/core/error.h"
#include "engine/format/safetensors_writer.h"
#include "engine/format/tensor_convert.h"
#include "tests/engine/support/safetensors_test_files.h"

namespace flux::engine {
namespace {

using flux::test::F32Tensor;
using flux::test::write_raw_safetensors;

using flux::test::error_of;

std::string open_error(const std::string& header, std::size_t data_bytes) {
  const auto path = write_raw_safetensors("bad.safetensors", header, std::vector<uint8_t>(data_bytes));
  return error_of([&] { SafetensorsFile f(path); });
}

TEST(SafetensorsFile, ReadsValidFile) {
  std::vector<uint16_t> bf16 = {f32_to_bf16(1.5f), f32_to_bf16(-2.0f)};
  std::vector<float> f32 = {1, 2, 3, 4, 5, 6};
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"b":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]},)"
      R"("a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
      R"("e":{"dtype":"I8","shape":[0],"data_offsets":[28,28]}})";
  std::vector<uint8_t> data(28);
  std::memcpy(data.data(), f32.data(), 24);
  std::memcpy(data.data() + 24, bf16.data(), 4);
  const SafetensorsFile f(write_raw_safetensors("ok.safetensors", header + "   ", data));
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.tensors()[0].name, "a");  // data order
  EXPECT_EQ(f.metadata().at("format"), "pt");
  EXPECT_EQ(to_f32(*f.find_tensor("a")), f32);
  EXPECT_EQ(to_f32(*f.find_tensor("b")), (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(f.find_tensor("e")->numel(), 0);
  EXPECT_EQ(f.find_tensor("zz"), nullptr);
}

TEST(SafetensorsFile, HeaderErrors) {
  EXPECT_ERROR(error_of([] {
                 SafetensorsFile f(flux::test::write_test_file("tiny.safetensors", {1, 2}));
               }),
               "tiny.safetensors: file too small (2 bytes)");
  flux::test::GgufEncoder big;
  big.put<uint64_t>(200'000'000).bytes(std::vector<uint8_t>(16, '{'));
  EXPECT_ERROR(error_of([&] { SafetensorsFile f(flux::test::write_test_file("big.safetensors", big.buf)); }),
               "header length 200000000 exceeds the 100000000 byte limit");
  flux::test::GgufEncoder past;
  past.put<uint64_t>(1000).bytes(std::vector<uint8_t>(16, '{'));
  EXPECT_ERROR(error_of([&] { SafetensorsFile f(flux::test::write_test_file("past.safetensors", past.buf)); }),
               "header length 1000 exceeds the file size (24 bytes)");
  EXPECT_ERROR(open_error("[1, 2]", 0), "header does not start with '{'");
  EXPECT_ERROR(open_error("{\"a\": ", 0), "header is not valid JSON");
  EXPECT_ERROR(open_error(R"({"a": 5})", 0), "tensor a: entry is not a JSON object");
  EXPECT_ERROR(open_error(R"({"a": {"dtype": "F32", "shape": [1]}})", 4), "tensor a: missing \"data_offsets\"");
  EXPECT_ERROR(open_error(R"({"a": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]}})", 4),
               "tensor a: unsupported dtype 'Q4'");
  EXPECT_ERROR(open_error(R"({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4),
               "is not a non-negative integer");
  EXPECT_ERROR(open_error(R"({"__metadata__": {"k": 1}})", 0), "__metadata__ value for 'k' is not a string");
}

TEST(SafetensorsFile, OffsetErrors) {
  EXPECT_ERROR(open_error(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}})", 8),
               "tensor a: data_offsets [8, 0] has begin after end");
  EXPECT_ERROR(open_error(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}})", 4),
               "tensor a: data_offsets [0, 4] span 4 bytes, but F32 [2] needs 8");
  EXPECT_ERROR(open_error(R"({"a": {"dtype": "F64", "shape": [2147483648, 2147483648], "data_offsets": [0, 0]}})", 0),
               "byte size of shape [2147483648,2147483648] overflows");
  EXPECT_ERROR(open_error(R"({"a": {"dtype": "U8", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}})", 0),
               "element count of shape [4294967296,4294967296] overflows");
  EXPECT_ERROR(open_error(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},)"
                          R"("b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
                          12),
               "tensor b: data_offsets [4, 12] overlap tensor a");
  EXPECT_ERROR(open_error(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                          R"("b": {"dtype": "F32", "shape": [1], "data_offsets": [8, 12]}})",
                          12),
               "tensor b: data_offsets [8, 12] leave a gap of 4 bytes");
  EXPECT_ERROR(open_error(R"({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", 8),
               "tensor a: data_offsets [0, 16] extend past end of file (data area 8 bytes)");
  EXPECT_ERROR(open_error(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}})", 12),
               "8 bytes after the last tensor are not covered");
}

TEST(SafetensorsWriter, RoundTripWithMetadataAndPadding) {
  const auto path = flux::test::test_temp_dir() / "written.safetensors";
  std::vector<uint16_t> bf16 = {f32_to_bf16(0.5f), f32_to_bf16(3.0f), f32_to_bf16(-1.0f)};
  std::vector<float> f32 = {1, 2};
  const SafetensorsEntry entries[] = {
      {"z.weight", StorageType::BF16, {3}, std::as_bytes(std::span<const uint16_t>(bf16))},
      {"a.weight", StorageType::F32, {1, 2}, std::as_bytes(std::span<const float>(f32))},
  };
  write_safetensors(path, entries, {{"format", "pt"}});
  EXPECT_FALSE(std::filesystem::exists(path.string() + ".tmp"));
  const SafetensorsFile f(path);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors()[0].name, "a.weight");  // laid out in name order
  EXPECT_EQ(to_f32(*f.find_tensor("z.weight")), (std::vector<float>{0.5f, 3.0f, -1.0f}));
  EXPECT_EQ(f.find_tensor("a.weight")->shape, (std::vector<int64_t>{1, 2}));
  uint64_t n = 0;
  std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(&n), 8);
  EXPECT_EQ(n % 8, 0u);
}

TEST(SafetensorsWriter, StreamingInAnyOrderAndErrors) {
  const auto path = flux::test::test_temp_dir() / "streamed.safetensors";
  std::vector<float> a = {1, 2, 3}, b = {4};
  {
    SafetensorsWriter w(path, {{"b", StorageType::F32, {1}}, {"a", StorageType::F32, {3}}});
    w.write_tensor("b", std::as_bytes(std::span<const float>(b)));
    EXPECT_ERROR(error_of([&] { w.write_tensor("a", std::as_bytes(std::span<const float>(b))); }),
                 "tensor a: got 4 bytes");
    EXPECT_ERROR(error_of([&] { w.write_tensor("c", {}); }), "tensor c was not declared");
    EXPECT_ERROR(error_of([&] { w.write_tensor("b", std::as_bytes(std::span<const float>(b))); }), "written twice");
    EXPECT_ERROR(error_of([&] { w.finish(); }), "tensor a was never written");
    w.write_tensor("a", std::as_bytes(std::span<const float>(a)));
    w.finish();
  }
  EXPECT_EQ(to_f32(*SafetensorsFile(path).find_tensor("a")), a);
  {  // An abandoned writer leaves nothing behind.
    SafetensorsWriter w(flux::test::test_temp_dir() / "abandoned.safetensors", {{"x", StorageType::F16, {2}}});
  }
  EXPECT_FALSE(std::filesystem::exists(flux::test::test_temp_dir() / "abandoned.safetensors.tmp"));
  EXPECT_ERROR(error_of([] { SafetensorsWriter w("/nonexistent-dir/x.safetensors", {}); }),
               "/nonexistent-dir/x.safetensors: cannot open for writing");
  EXPECT_ERROR(error_of([] {
                 SafetensorsWriter w("/tmp/q.safetensors", {{"q", StorageType::Q4_0, {32}}});
               }),
               "has no safetensors dtype");
}

}  // namespace
}  // namespace flux::engine
