// Split GGUF files (llama.cpp's gguf-split: <name>-00001-of-00003.gguf, split.no / split.count / split.tensors.count):
// the first shard opens the whole model; any other shard, a missing one or an inconsistent set is a clear error.
#include <gtest/gtest.h>

#include "engine/model/model_files.h"
#include "tests/engine/support/error_of.h"
#include "tests/engine/support/gguf_builder.h"

namespace flux::engine {
namespace {

using flux::test::error_of;
using flux::test::GgufBuilder;

GgufBuilder shard(uint16_t number, uint16_t count, uint32_t total_tensors) {
  GgufBuilder b;
  if (number == 0) {
    b.add_string("general.architecture", "llama").add_string("general.name", "Split");
    b.add_u32("llama.block_count", 1).add_u32("llama.context_length", 64).add_u32("llama.embedding_length", 8);
    b.add_u32("llama.feed_forward_length", 16).add_u32("llama.attention.head_count", 2);
    b.add_u32("llama.attention.head_count_kv", 1).add_f32("llama.attention.layer_norm_rms_epsilon", 1e-6f);
    b.add_string_array("tokenizer.ggml.tokens", {"a", "b", "c", "d"});
  }
  b.add_u16("split.no", number).add_u16("split.count", count).add_i32("split.tensors.count",
                                                                        static_cast<int32_t>(total_tensors));
  return b;
}

// Three shards in a folder of their own; `skip` leaves one out.
std::filesystem::path write_split(const std::string& dir, int skip = -1) {
  const std::vector<float> norm(8, 1.0f), embed(32, 0.5f), q(64, 0.25f);
  std::filesystem::path first;
  for (uint16_t i = 0; i < 3; ++i) {
    GgufBuilder b = shard(i, 3, 3);
    if (i == 0) b.add_f32_tensor("token_embd.weight", {4, 8}, embed);
    if (i == 1) b.add_f32_tensor("blk.0.attn_norm.weight", {8}, norm);
    if (i == 2) b.add_f32_tensor("blk.0.attn_q.weight", {8, 8}, q);
    const std::string name = dir + "/tiny-" + fmt::format("{:05}", i + 1) + "-of-00003.gguf";
    const std::filesystem::path p = i == skip ? std::filesystem::path{} : b.write(name);
    if (i == 0) first = p;
  }
  return first;
}

TEST(GgufSplit, FirstShardOpensEveryShardsTensors) {
  const std::filesystem::path first = write_split("split_ok");
  const ModelFiles files = ModelFiles::open(first);
  EXPECT_EQ(files.config().n_layers, 1);
  EXPECT_EQ(files.tensors().size(), 3u);
  const TensorView* q = files.find("model.layers.0.self_attn.q_proj.weight");
  ASSERT_NE(q, nullptr);  // from the third shard
  EXPECT_EQ(q->bytes.size(), 64 * sizeof(float));
  float v = 0;
  std::memcpy(&v, q->bytes.data(), sizeof v);
  EXPECT_EQ(v, 0.25f);
  ASSERT_NE(files.find("model.layers.0.input_layernorm.weight"), nullptr);  // second shard
}

TEST(GgufSplit, OtherShardsMissingShardsAndBadCountsAreNamed) {
  const std::filesystem::path first = write_split("split_named");
  const std::filesystem::path second = first.parent_path() / "tiny-00002-of-00003.gguf";
  EXPECT_ERROR(error_of([&] { ModelFiles::open(second); }), "shard 2 of 3 of a split GGUF: open the first shard");
  EXPECT_ERROR(error_of([&] { ModelFiles::open(second); }), "tiny-00001-of-00003.gguf");
  const std::filesystem::path gap = write_split("split_gap", 2);
  EXPECT_ERROR(error_of([&] { ModelFiles::open(gap); }), "shard 3 of 3 of this split GGUF is missing");
  // A renamed first shard: the others cannot be found.
  const std::filesystem::path renamed = first.parent_path() / "renamed.gguf";
  std::filesystem::copy_file(first, renamed);
  EXPECT_ERROR(error_of([&] { ModelFiles::open(renamed); }), "does not follow gguf-split's");
  // A tensor count that does not add up.
  GgufBuilder b = shard(0, 2, 5);
  b.add_f32_tensor("token_embd.weight", {4, 8}, std::vector<float>(32));
  const std::filesystem::path a = b.write("split_count/m-00001-of-00002.gguf");
  shard(1, 2, 5).add_f32_tensor("blk.0.attn_norm.weight", {8}, std::vector<float>(8)).write(
      "split_count/m-00002-of-00002.gguf");
  EXPECT_ERROR(error_of([&] { ModelFiles::open(a); }), "hold 2 tensors, split.tensors.count says 5");
}

}  // namespace
}  // namespace flux::engine
