// Every malformed-GGUF case GgufFile must reject, each with an Error naming the problem (and file/key/tensor).
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "tests/engine/support/error_of.h"
#include "engine/core/error.h"
#include "engine/format/gguf_file.h"
#include "tests/engine/support/gguf_builder.h"

namespace flux::engine {
namespace {

using flux::test::GgufBuilder;
using flux::test::GgufEncoder;
namespace gt = flux::test::gguf_type;
namespace ggml = flux::test::ggml;

// Opens the bytes as a GGUF file and returns the error message (or a marker when none was thrown).
std::string open_error(const std::vector<uint8_t>& bytes, const std::string& name = "bad.gguf") {
  const auto path = flux::test::write_test_file(name, bytes);
  return flux::test::error_of([&] { GgufFile f(path); });
}
std::string open_error(const GgufBuilder& b) {
  return open_error(b.bytes());
}

std::vector<uint8_t> f32_bytes(int n) {
  return std::vector<uint8_t>(static_cast<std::size_t>(n) * 4, 0);
}

TEST(GgufValidation, BadMagic) {
  EXPECT_ERROR(open_error(GgufBuilder().set_magic(0x46554748)), "bad.gguf: not a GGUF file (bad magic 0x46554748");
  EXPECT_ERROR(open_error(std::vector<uint8_t>{'G', 'G'}), "too small");
  EXPECT_ERROR(open_error(std::vector<uint8_t>{'G', 'G', 'U', 'F', 3, 0}), "truncated");
}

TEST(GgufValidation, UnsupportedVersions) {
  EXPECT_ERROR(open_error(GgufBuilder().set_version(1)), "GGUF version 1 is not supported");
  EXPECT_ERROR(open_error(GgufBuilder().set_version(4)), "unsupported GGUF version 4");
  EXPECT_ERROR(open_error(GgufBuilder().set_version(0x03000000)), "big-endian");
}

TEST(GgufValidation, CountsLargerThanTheFile) {
  EXPECT_ERROR(open_error(GgufBuilder().override_tensor_count(1ull << 60)), "tensor count 1152921504606846976 exceeds");
  EXPECT_ERROR(open_error(GgufBuilder().add_u8("a", 1).override_kv_count(~0ull)), "metadata count");
  EXPECT_ERROR(open_error(GgufBuilder().add_string("a", std::string(100, 'x')).override_kv_count(2)), "truncated");
  EXPECT_ERROR(open_error(GgufBuilder().add_raw("s", gt::String, GgufEncoder{}.put<uint64_t>(1ull << 62).buf)),
               "length 4611686018427387904 at offset");
  EXPECT_ERROR(open_error(GgufBuilder().add_raw("arr", gt::Array,
                                                GgufEncoder{}.put<uint32_t>(gt::U64).put<uint64_t>(1ull << 40).buf)),
               "metadata key 'arr': array count 1099511627776 exceeds");
  // A key whose own length is absurd.
  GgufEncoder e;
  e.put<uint32_t>(0x46554747).put<uint32_t>(3).put<uint64_t>(0).put<uint64_t>(1).put<uint64_t>(~0ull);
  e.bytes(std::vector<uint8_t>(16, 'x'));
  EXPECT_ERROR(open_error(e.buf), "metadata key length");
}

TEST(GgufValidation, BadValues) {
  EXPECT_ERROR(open_error(GgufBuilder().add_raw("k", 13, {0})), "metadata key 'k': unknown value type 13");
  EXPECT_ERROR(open_error(GgufBuilder().add_raw("b", gt::Bool, {2})), "invalid bool value 2");
  EXPECT_ERROR(
      open_error(GgufBuilder().add_raw("arr", gt::Array, GgufEncoder{}.put<uint32_t>(99).put<uint64_t>(0).buf)),
      "unknown array element type 99");
  GgufEncoder deep;
  for (int i = 0; i < 20; ++i) deep.put<uint32_t>(gt::Array).put<uint64_t>(1);
  deep.put<uint32_t>(gt::U8).put<uint64_t>(0);
  EXPECT_ERROR(open_error(GgufBuilder().add_raw("deep", gt::Array, deep.buf)), "nested deeper");
}

TEST(GgufValidation, DuplicateKeysAndTensorNames) {
  EXPECT_ERROR(open_error(GgufBuilder().add_u32("a.b", 1).add_string("a.b", "x")), "duplicate metadata key 'a.b'");
  EXPECT_ERROR(open_error(GgufBuilder().add_f32_tensor("w", {1}, {1}).add_f32_tensor("w", {1}, {2})),
               "duplicate tensor name 'w'");
}

TEST(GgufValidation, BadDimensions) {
  EXPECT_ERROR(open_error(GgufBuilder().add_tensor_ne("t0", ggml::F32, {}, f32_bytes(1))),
               "tensor t0: n_dims 0 is out of range (1..4)");
  EXPECT_ERROR(open_error(GgufBuilder().add_tensor_ne("t5", ggml::F32, {1, 1, 1, 1, 1}, f32_bytes(1))), "n_dims 5");
  EXPECT_ERROR(open_error(GgufBuilder().add_tensor_ne("z", ggml::F32, {4, 0}, f32_bytes(1))),
               "tensor z: dimension ne[1] is zero");
  EXPECT_ERROR(open_error(GgufBuilder().add_tensor_ne("big", ggml::F32, {1ull << 32, 1ull << 32}, f32_bytes(1))),
               "tensor big: element count of shape [4294967296, 4294967296] overflows int64");
  EXPECT_ERROR(open_error(GgufBuilder().add_tensor_ne("huge", ggml::F32, {~0ull}, f32_bytes(1))), "overflows int64");
  // The element count fits, the byte count does not.
  EXPECT_ERROR(open_error(GgufBuilder().add_tensor_ne("bytes", ggml::F32, {1ull << 62}, f32_bytes(1))),
               "byte size of shape");
}

TEST(GgufValidation, UnknownTypeAndPartialBlocks) {
  EXPECT_ERROR(open_error(GgufBuilder().add_tensor("q", 99, {32}, f32_bytes(8))),
               "tensor q: unsupported tensor type 99");
  EXPECT_ERROR(open_error(GgufBuilder().add_tensor("iq", 16, {256}, f32_bytes(8))), "unsupported tensor type 16 = IQ2_XXS (readable:");
  EXPECT_ERROR(open_error(GgufBuilder().add_tensor("q4", ggml::Q4_0, {2, 16}, std::vector<uint8_t>(18))),
               "tensor q4: ne[0] = 16 is not a multiple of the Q4_0 block size 32");
}

TEST(GgufValidation, BadAlignment) {
  EXPECT_ERROR(open_error(GgufBuilder().set_alignment(12)), "general.alignment = 12 is not a non-zero multiple of 8");
  EXPECT_ERROR(open_error(GgufBuilder().add_u32("general.alignment", 0)), "general.alignment = 0");
  EXPECT_ERROR(open_error(GgufBuilder().add_string("general.alignment", "32")), "expected an unsigned integer");
}

TEST(GgufValidation, MisalignedOffset) {
  EXPECT_ERROR(open_error(GgufBuilder().add_tensor_ne("m", ggml::F32, {2}, f32_bytes(2), 4)),
               "tensor m: offset 4 is not a multiple of the alignment 32");
}

TEST(GgufValidation, DataPastEndOfFile) {
  auto bytes = GgufBuilder()
                   .add_f32_tensor("a", {2}, {1, 2})
                   .add_f32_tensor("blk.3.attn_q.weight", {4, 4}, std::vector<float>(16))
                   .bytes();
  bytes.resize(bytes.size() - 1);
  const std::string msg = open_error(bytes, "model.gguf");
  EXPECT_ERROR(msg, "model.gguf: tensor blk.3.attn_q.weight: data [offset ");
  EXPECT_ERROR(msg, ", 64 bytes] extends past end of file (" + std::to_string(bytes.size()) + " bytes)");
  EXPECT_ERROR(open_error(GgufBuilder().add_tensor_ne("far", ggml::F32, {2}, {}, ~0ull - 31).omit_tensor_data()),
               "tensor far: data [offset 18446744073709551584, 8 bytes] extends past end of file");
}

TEST(GgufValidation, OverlappingTensors) {
  EXPECT_ERROR(open_error(GgufBuilder()
                              .add_tensor_ne("first", ggml::F32, {16}, f32_bytes(16), 0)
                              .add_tensor_ne("second", ggml::F32, {4}, f32_bytes(4), 32)),
               "tensors first [offset 0, 64 bytes] and second [offset 32] overlap");
  // Adjacent, non-overlapping tensors at explicit offsets are fine.
  EXPECT_EQ(open_error(GgufBuilder()
                           .add_tensor_ne("first", ggml::F32, {8}, f32_bytes(8), 0)
                           .add_tensor_ne("second", ggml::F32, {4}, f32_bytes(4), 32)),
            "(no error)");
}

// Corrupted copies of a valid file must either open or throw Error: never crash, hang or allocate wildly.
TEST(GgufValidation, RandomCorruptionOnlyThrowsError) {
  const auto valid = GgufBuilder()
                         .add_string("general.architecture", "llama")
                         .add_string_array("tokenizer.ggml.tokens", {"a", "bc", "def"})
                         .add_f32_array("scores", {1, 2, 3})
                         .add_f32_tensor("w", {2, 4}, std::vector<float>(8, 1.0f))
                         .add_tensor("q", ggml::Q8_0, {1, 32}, std::vector<uint8_t>(34))
                         .bytes();
  uint32_t s = 12345;
  auto next = [&] { return s = s * 1664525u + 1013904223u; };
  for (int round = 0; round < 400; ++round) {
    auto bytes = valid;
    const int flips = 1 + static_cast<int>(next() % 4);
    for (int k = 0; k < flips; ++k) bytes[next() % bytes.size()] = static_cast<uint8_t>(next() >> 24);
    const auto path = flux::test::write_test_file("fuzz.gguf", bytes);
    try {
      GgufFile f(path);
      for (const auto& t : f.tensors())
        ASSERT_LE(t.bytes.data() + t.bytes.size(), f.mapping()->bytes().data() + bytes.size());
    } catch (const Error&) {
    }
  }
}

}  // namespace
}  // namespace flux::engine
