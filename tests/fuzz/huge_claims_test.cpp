// Files that claim absurd sizes are rejected without ever allocating what they claim. The whole binary's operator new
// records the largest single request, and each case checks that opening a file of a few hundred bytes that claims
// 2^40 elements (4 TiB of F32) throws Error while nothing larger than 1 MiB was requested.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "engine/format/gguf_file.h"
#include "engine/format/hf_config.h"
#include "engine/format/safetensors_file.h"
#include "engine/routing/router_file.h"
#include "engine/tokenizer/hf_tokenizer_json.h"
#include "tests/engine/support/error_of.h"
#include "tests/engine/support/gguf_builder.h"
#include "tests/engine/support/safetensors_test_files.h"

namespace {
std::atomic<std::size_t> g_largest{0};
}  // namespace

namespace {
void* counted_malloc(std::size_t n) noexcept {
  std::size_t seen = g_largest.load(std::memory_order_relaxed);
  while (n > seen && !g_largest.compare_exchange_weak(seen, n, std::memory_order_relaxed)) {
  }
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace

// GCC flags free() on memory from a replaced operator new as mismatched; here both sides are ours and use malloc/free.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

// Every non-aligned form, so each new pairs with a matching delete (AddressSanitizer checks the pairing).
void* operator new(std::size_t n) {
  if (void* p = counted_malloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return operator new(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return counted_malloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return counted_malloc(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace flux::engine {
namespace {

using flux::test::GgufBuilder;
using flux::test::GgufEncoder;
namespace ggml = flux::test::ggml;
namespace gt = flux::test::gguf_type;

constexpr std::size_t kOneMiB = 1 << 20;
constexpr uint64_t k2e20 = 1ull << 20;

// The error message of `f`, and the largest single allocation it made.
struct Outcome {
  std::string error;
  std::size_t largest = 0;
};
template <typename F>
Outcome run(F&& f) {
  g_largest.store(0);
  Outcome o;
  o.error = flux::test::error_of(f);
  o.largest = g_largest.load();
  return o;
}

TEST(HugeClaims, GgufTensorOf2To40Elements) {
  const auto path = flux::test::write_test_file(
      "huge.gguf", GgufBuilder().add_tensor_ne("huge", ggml::F32, {k2e20, k2e20}, {}, 0).omit_tensor_data().bytes());
  ASSERT_LT(std::filesystem::file_size(path), 1024u);
  const Outcome o = run([&] { GgufFile f(path); });
  EXPECT_ERROR(o.error, "tensor huge: data [offset ");
  EXPECT_ERROR(o.error, ", 4398046511104 bytes] extends past end of file");
  EXPECT_LT(o.largest, kOneMiB);
}

TEST(HugeClaims, GgufArrayAndStringCounts) {
  const auto array = flux::test::write_test_file(
      "array.gguf", GgufBuilder()
                        .add_raw("tokenizer.ggml.tokens", gt::Array,
                                 GgufEncoder{}.put<uint32_t>(gt::String).put<uint64_t>(1ull << 40).buf)
                        .bytes());
  Outcome o = run([&] { GgufFile f(array); });
  EXPECT_ERROR(o.error, "array count 1099511627776 exceeds what the");
  EXPECT_LT(o.largest, kOneMiB);

  const auto str = flux::test::write_test_file(
      "string.gguf",
      GgufBuilder().add_raw("general.name", gt::String, GgufEncoder{}.put<uint64_t>(1ull << 40).buf).bytes());
  o = run([&] { GgufFile f(str); });
  EXPECT_ERROR(o.error, "general.name length 1099511627776");
  EXPECT_LT(o.largest, kOneMiB);

  const auto count = flux::test::write_test_file("count.gguf", GgufBuilder().override_tensor_count(1ull << 40).bytes());
  o = run([&] { GgufFile f(count); });
  EXPECT_ERROR(o.error, "tensor count 1099511627776 exceeds");
  EXPECT_LT(o.largest, kOneMiB);
}

TEST(HugeClaims, SafetensorsTensorOf2To40Elements) {
  const auto path = flux::test::write_raw_safetensors(
      "huge.safetensors", R"({"huge":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,4398046511104]}})",
      {0, 0, 0, 0});
  Outcome o = run([&] { SafetensorsFile f(path); });
  EXPECT_ERROR(o.error, "tensor huge: data_offsets [0, 4398046511104] extend past end of file");
  EXPECT_LT(o.largest, kOneMiB);

  GgufEncoder header;
  header.put<uint64_t>(1ull << 40).bytes({'{', '}'});
  const auto big_header = flux::test::write_test_file("header.safetensors", header.buf);
  o = run([&] { SafetensorsFile f(big_header); });
  EXPECT_ERROR(o.error, "header length 1099511627776 exceeds the 100000000 byte limit");
  EXPECT_LT(o.largest, kOneMiB);
}

// Found by fuzz_tokenizer_json: one token with id 16777215 made the loader size its id table for 16M tokens (~700 MB).
TEST(HugeClaims, TokenizerIdFarBeyondTheVocabulary) {
  const std::string text =
      R"({"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":16777215},"merges":["a a"]}})";
  const auto path = flux::test::write_test_file("huge_id/tokenizer.json", {text.begin(), text.end()});
  const Outcome o = run([&] { (void)vocab_from_hf_tokenizer_json(path); });
  EXPECT_ERROR(o.error, "token id 16777215 leaves gaps (1 tokens listed)");
  EXPECT_LT(o.largest, kOneMiB);
}

TEST(HugeClaims, RouterClaimingTwoBillionLayers) {
  const std::string header = R"({"__metadata__":{"flux_router":"{\"n_layers\":2147483647,\"head_dim\":64}"}})";
  const auto path = flux::test::write_raw_safetensors("huge.router.safetensors", header, {});
  const Outcome o = run([&] { (void)load_router(path); });
  EXPECT_ERROR(o.error, "router tensor 'layers.0.feat.0.weight' is missing");
  EXPECT_LT(o.largest, kOneMiB);
}

}  // namespace
}  // namespace flux::engine
