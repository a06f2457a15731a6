// GgufFile on well-formed files: every metadata type, coercions, arrays (nested too), tensors and their bytes.
#include "tests/engine/support/error_of.h"
#include "engine/format/gguf_file.h"

#include <gtest/gtest.h>

#include <cstring>
#include <functional>

#include "engine/core/error.h"
#include "engine/format/tensor_convert.h"
#include "tests/engine/support/gguf_builder.h"

namespace flux::engine {
namespace {

using flux::test::GgufBuilder;
using flux::test::GgufEncoder;
namespace gt = flux::test::gguf_type;
namespace ggml = flux::test::ggml;

using flux::test::error_of;

GgufBuilder all_types_builder() {
  GgufBuilder b;
  b.add_u8("t.u8", 200).add_i8("t.i8", -100).add_u16("t.u16", 60000).add_i16("t.i16", -30000);
  b.add_u32("t.u32", 4000000000u).add_i32("t.i32", -2000000000).add_f32("t.f32", 0.5f).add_bool("t.bool", true);
  b.add_string("t.string", "héllo").add_u64("t.u64", 1ull << 63).add_i64("t.i64", -(1ll << 40));
  b.add_f64("t.f64", 1e-300).add_string_array("t.strings", {"a", "", "ccc"});
  b.add_f32_array("t.floats", {1.0f, -2.5f}).add_i32_array("t.ints", {3, -4, 5});
  // [[1, 2], [3]] as an array of u16 arrays.
  GgufEncoder nested;
  nested.put<uint32_t>(gt::Array).put<uint64_t>(2);
  nested.put<uint32_t>(gt::U16).put<uint64_t>(2).put<uint16_t>(1).put<uint16_t>(2);
  nested.put<uint32_t>(gt::U16).put<uint64_t>(1).put<uint16_t>(3);
  b.add_raw("t.nested", gt::Array, nested.buf);
  return b;
}

TEST(GgufFile, ReadsAllValueTypes) {
  const GgufFile f(all_types_builder().write("all_types.gguf"));
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), 32u);
  EXPECT_EQ(f.get_uint("t.u8"), 200u);
  EXPECT_EQ(f.get_int("t.i8"), -100);
  EXPECT_EQ(f.get_int("t.u16"), 60000);
  EXPECT_EQ(f.get_int("t.i16"), -30000);
  EXPECT_EQ(f.get_uint("t.u32"), 4000000000u);
  EXPECT_EQ(f.get_int("t.i32"), -2000000000);
  EXPECT_EQ(f.get_float("t.f32"), 0.5);
  EXPECT_TRUE(f.get_bool("t.bool"));
  EXPECT_EQ(f.get_string("t.string"), "héllo");
  EXPECT_EQ(f.get_uint("t.u64"), 1ull << 63);
  EXPECT_EQ(f.get_int("t.i64"), -(1ll << 40));
  EXPECT_EQ(f.get_float("t.f64"), 1e-300);
  EXPECT_EQ(f.get_string_array("t.strings"), (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(f.get_float_array("t.floats"), (std::vector<float>{1.0f, -2.5f}));
  EXPECT_EQ(f.get_int_array("t.ints"), (std::vector<int64_t>{3, -4, 5}));
  EXPECT_EQ(f.array_size("t.nested"), 2u);
  const auto& outer = std::get<std::vector<GgufValue>>(f.value("t.nested").data);
  EXPECT_EQ(outer[0].elem_type, GgufType::U16);
  EXPECT_EQ(std::get<uint64_t>(std::get<std::vector<GgufValue>>(outer[1].data)[0].data), 3u);
  EXPECT_EQ(f.metadata_keys().front(), "t.u8");
  EXPECT_EQ(f.metadata_keys().size(), 16u);
  EXPECT_TRUE(f.tensors().empty());
  EXPECT_EQ(f.describe("t.strings"), "[string x 3] [\"a\", \"\", \"ccc\"]");
  EXPECT_EQ(f.describe("t.nested"), "[array x 2] [[u16 x 2] [1, 2], [u16 x 1] [3]]");
  EXPECT_EQ(f.describe("t.f32"), "0.5");
}

TEST(GgufFile, CoercionsAndTypeErrors) {
  const GgufFile f(all_types_builder().write("coerce.gguf"));
  EXPECT_EQ(f.get_float("t.i32"), -2e9);  // integer -> float
  EXPECT_EQ(*f.find_uint("t.u8"), 200u);
  EXPECT_FALSE(f.find_int("absent").has_value());
  EXPECT_FALSE(f.find_string_array("absent").has_value());
  EXPECT_NE(error_of([&] { f.get_uint("t.i8"); }).find("negative value -100"), std::string::npos);
  EXPECT_NE(error_of([&] { f.get_int("t.u64"); }).find("does not fit in int64"), std::string::npos);
  EXPECT_NE(
      error_of([&] { f.get_int("t.string"); }).find("metadata key 't.string' has type string, expected an integer"),
      std::string::npos);
  EXPECT_NE(error_of([&] { f.get_string("t.u8"); }).find("has type u8, expected a string"), std::string::npos);
  EXPECT_NE(error_of([&] { f.get_string_array("t.ints"); }).find("t.ints'[0] has type i32"), std::string::npos);
  EXPECT_NE(error_of([&] { f.get_int("absent"); }).find("missing metadata key 'absent'"), std::string::npos);
  EXPECT_NE(error_of([&] { f.find_string("t.f64"); }).find("expected a string"), std::string::npos);
  EXPECT_NE(error_of([&] { f.get_bool("t.i32"); }).find("is not a bool"), std::string::npos);
  EXPECT_NE(error_of([&] { f.tensor("nope"); }).find("no tensor named 'nope'"), std::string::npos);
}

TEST(GgufFile, TensorsPointIntoTheFile) {
  std::vector<uint8_t> q8(34 * 2);
  const uint16_t d = f32_to_f16(0.5f);
  std::memcpy(q8.data(), &d, 2);
  std::memcpy(q8.data() + 34, &d, 2);
  q8[2] = 4;          // element 0 = 2.0
  q8[34 + 2] = 0xFE;  // element 32 = -1.0
  const auto path = GgufBuilder()
                        .add_string("general.architecture", "llama")
                        .add_f32_tensor("a.weight", {2, 3}, {1, 2, 3, 4, 5, 6})
                        .add_tensor("b.weight", ggml::Q8_0, {2, 32}, q8)
                        .add_f32_tensor("c.bias", {5}, {1, 1, 1, 1, 1})
                        .write("tensors.gguf");
  const GgufFile f(path);
  ASSERT_EQ(f.tensors().size(), 3u);
  EXPECT_EQ(f.tensors()[1].name, "b.weight");
  const TensorView& a = f.tensor("a.weight");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3}));  // ne = [3, 2] reversed
  EXPECT_EQ(to_f32(a), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  const TensorView* b = f.find_tensor("b.weight");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->type, StorageType::Q8_0);
  EXPECT_EQ(b->bytes.size(), 68u);
  EXPECT_EQ(to_f32(*b)[0], 2.0f);
  EXPECT_EQ(to_f32(*b)[32], -1.0f);
  EXPECT_EQ(f.data_offset() % 32, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.bytes.data()) % 32, 0u);
  // Views stay valid after the GgufFile is gone as long as the mapping is held.
  std::shared_ptr<const MappedFile> keep;
  TensorView copy;
  {
    const GgufFile g(path);
    keep = g.mapping();
    copy = g.tensor("c.bias");
  }
  EXPECT_EQ(to_f32(copy), std::vector<float>(5, 1.0f));
}

TEST(GgufFile, CustomAlignmentAndVersion2) {
  const auto path = GgufBuilder()
                        .set_version(2)
                        .set_alignment(64)
                        .add_f32_tensor("x", {1}, {7})
                        .add_f32_tensor("y", {3}, {1, 2, 3})
                        .write("align64.gguf");
  const GgufFile f(path);
  EXPECT_EQ(f.version(), 2u);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  EXPECT_EQ(f.tensor("y").bytes.data() - f.tensor("x").bytes.data(), 64);
  EXPECT_EQ(to_f32(f.tensor("y")), (std::vector<float>{1, 2, 3}));
}

}  // namespace
}  // namespace flux::engine
