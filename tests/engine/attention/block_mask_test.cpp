// BlockMask: static masks equal build_block_lists cell by cell, aggregate_heads counts each head's lists, density is
// BlockLists::density, the JSON encoding round-trips and malformed JSON is a clear error.
#include "engine/attention/block_mask.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "engine/attention/xattention.h"
#include "engine/core/base64.h"
#include "engine/core/error.h"
#include "tests/engine/support/error_of.h"

namespace flux::engine {
namespace {

AttentionPlan plan_of(AttentionMode mode, int block, int sink, int window, int n_last, bool token_exact = false) {
  AttentionPlan p;
  p.mode = mode;
  p.block = block;
  p.sink = sink;
  p.window = window;
  p.n_last = n_last;
  p.stride = 1;
  p.token_exact = token_exact;
  return p;
}

bool listed(std::span<const int32_t> row, int kb) { return std::find(row.begin(), row.end(), kb) != row.end(); }

// Per-head lists of an XAttention selection on random q and k (the data-dependent case).
BlockLists random_xattn_lists(int64_t n, int n_heads, int n_kv_heads, int d, int block, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> q(static_cast<std::size_t>(n * n_heads * d)), k(static_cast<std::size_t>(n * n_kv_heads * d));
  for (float& x : q) x = dist(rng);
  for (float& x : k) x = dist(rng);
  AttentionPlan p = plan_of(AttentionMode::XAttention, block, 0, 1, 0);
  p.stride = 4;
  p.threshold = 0.6f;
  return xattention_select(q.data(), k.data(), n, n_heads, n_kv_heads, d, p);
}

TEST(BlockMask, StaticMasksEqualTheBlockListsCellByCell) {
  const AttentionPlan plans[] = {
      plan_of(AttentionMode::Full, 16, 0, 1, 0),
      plan_of(AttentionMode::Streaming, 16, 16, 48, 0),
      plan_of(AttentionMode::Streaming, 16, 20, 40, 0, true),
      plan_of(AttentionMode::Streaming, 8, 0, 8, 0),
      plan_of(AttentionMode::Triangle, 16, 16, 32, 40),
      plan_of(AttentionMode::Triangle, 16, 0, 16, 0),
  };
  for (const AttentionPlan& plan : plans) {
    for (const int64_t n : {int64_t{1}, int64_t{17}, int64_t{100}, int64_t{257}}) {
      SCOPED_TRACE(fmt::format("{} n={} sink={} window={}", attention_mode_name(plan.mode), n, plan.sink,
                               plan.window));
      const BlockLists lists = build_block_lists(plan, n);
      const BlockMask mask = static_block_mask(plan, n, 4);
      ASSERT_EQ(mask.n_q_blocks, lists.n_q_blocks);
      ASSERT_EQ(mask.n_kv_blocks, lists.n_kv_blocks);
      EXPECT_EQ(mask.block, plan.block);
      EXPECT_EQ(mask.n_heads, 4);
      for (int qb = 0; qb < mask.n_q_blocks; ++qb) {
        const auto want = lists.row(0, qb);
        const auto got = mask.row(qb);
        ASSERT_EQ(std::vector<int32_t>(got.begin(), got.end()), std::vector<int32_t>(want.begin(), want.end()))
            << "query block " << qb;
        for (const uint16_t h : mask.row_heads(qb)) EXPECT_EQ(h, 4);  // shared lists: every head computed it
      }
      EXPECT_DOUBLE_EQ(mask.density(), lists.density());
    }
  }
}

TEST(BlockMask, AggregateHeadsCountsTheHeadsThatListEachBlock) {
  const int n_heads = 6;
  const BlockLists lists = random_xattn_lists(300, n_heads, 3, 16, 16, 7);
  ASSERT_EQ(lists.n_heads, n_heads);
  const BlockMask mask = aggregate_heads(lists, n_heads);
  ASSERT_EQ(mask.n_q_blocks, lists.n_q_blocks);
  int partial = 0;  // cells some but not all heads computed: the case a count must get right
  for (int qb = 0; qb < mask.n_q_blocks; ++qb) {
    const auto blocks = mask.row(qb);
    const auto heads = mask.row_heads(qb);
    EXPECT_TRUE(std::is_sorted(blocks.begin(), blocks.end()));
    for (int kb = 0; kb <= qb; ++kb) {
      int want = 0;
      for (int h = 0; h < n_heads; ++h) want += listed(lists.row(h, qb), kb);
      const auto it = std::find(blocks.begin(), blocks.end(), kb);
      const int got = it == blocks.end() ? 0 : heads[static_cast<std::size_t>(it - blocks.begin())];
      EXPECT_EQ(got, want) << "query block " << qb << " key block " << kb;
      partial += want > 0 && want < n_heads;
    }
  }
  EXPECT_GT(partial, 0) << "the selection should differ between heads";
  EXPECT_DOUBLE_EQ(mask.density(), lists.density());
  EXPECT_LT(mask.density(), 1.0);
}

TEST(BlockMask, AggregateHeadsRejectsInconsistentLists) {
  BlockLists lists = build_block_lists(plan_of(AttentionMode::Full, 16, 0, 1, 0), 64);
  EXPECT_ERROR(test::error_of([&] { aggregate_heads(lists, 0); }), "heads");
  BlockLists per_head = random_xattn_lists(64, 4, 2, 16, 16, 3);
  EXPECT_ERROR(test::error_of([&] { aggregate_heads(per_head, 2); }), "lists of 4 heads");
  lists.kv_blocks[1] = 3;  // query block 1 lists key block 3: past the diagonal
  EXPECT_ERROR(test::error_of([&] { aggregate_heads(lists, 1); }), "key block 3");
  EXPECT_ERROR(test::error_of([&] { static_block_mask(plan_of(AttentionMode::XAttention, 16, 0, 1, 0), 64, 1); }),
               "XAttention");
}

TEST(BlockMask, JsonRoundTripsNarrowAndWideCounts) {
  for (const int n_heads : {1, 6, 300}) {
    SCOPED_TRACE(n_heads);
    const BlockLists lists = n_heads == 6 ? random_xattn_lists(200, 6, 2, 16, 16, 11)
                                          : build_block_lists(plan_of(AttentionMode::Triangle, 16, 16, 32, 40), 200);
    const BlockMask mask = aggregate_heads(lists, n_heads);
    const nlohmann::json j = block_mask_to_json(mask);
    EXPECT_EQ(j.at("encoding"), n_heads > 255 ? "causal-counts-u16le" : "causal-counts-u8");
    const BlockMask back = block_mask_from_json(nlohmann::json::parse(j.dump()));
    EXPECT_EQ(back, mask);
    EXPECT_DOUBLE_EQ(back.density(), lists.density());
  }
  const BlockMask empty = static_block_mask(plan_of(AttentionMode::Full, 16, 0, 1, 0), 0, 2);
  EXPECT_EQ(block_mask_from_json(block_mask_to_json(empty)), empty);
  EXPECT_DOUBLE_EQ(empty.density(), 1.0);
}

TEST(BlockMask, JsonSizeOfA128KTokenLayer) {
  // 131072 tokens in blocks of 128: 1024 x 1024 blocks, 524800 causal cells, one byte each before base64.
  const BlockMask mask = static_block_mask(plan_of(AttentionMode::Streaming, 128, 128, 1024, 0), 131072, 32);
  ASSERT_EQ(mask.n_q_blocks, 1024);
  const std::string text = block_mask_to_json(mask).dump();
  const std::size_t counts = block_mask_to_json(mask).at("counts").get<std::string>().size();
  EXPECT_EQ(counts, base64_length(1024u * 1025u / 2u));
  std::printf("128K-token layer mask: %zu base64 characters, %zu bytes of JSON\n", counts, text.size());
}

TEST(BlockMask, MalformedJsonIsAClearError) {
  const nlohmann::json good = block_mask_to_json(aggregate_heads(random_xattn_lists(64, 4, 2, 16, 16, 5), 4));
  auto with = [&](const char* key, nlohmann::json value) {
    nlohmann::json j = good;
    j[key] = std::move(value);
    return j;
  };
  auto without = [&](const char* key) {
    nlohmann::json j = good;
    j.erase(key);
    return j;
  };
  EXPECT_ERROR(test::error_of([&] { block_mask_from_json(nlohmann::json::array()); }), "expected an object");
  EXPECT_ERROR(test::error_of([&] { block_mask_from_json(without("counts")); }), "'counts'");
  EXPECT_ERROR(test::error_of([&] { block_mask_from_json(without("n_heads")); }), "'n_heads' is missing");
  EXPECT_ERROR(test::error_of([&] { block_mask_from_json(with("block", 1.5)); }), "'block' must be an integer");
  EXPECT_ERROR(test::error_of([&] { block_mask_from_json(with("block", 0)); }), "'block' = 0");
  EXPECT_ERROR(test::error_of([&] { block_mask_from_json(with("n_kv_blocks", 2)); }), "'n_kv_blocks' = 2");
  nlohmann::json huge = with("n_q_blocks", 1000000);  // a forged size must not be allocated: the text is too short
  huge["n_kv_blocks"] = 1000000;
  EXPECT_ERROR(test::error_of([&] { block_mask_from_json(huge); }), "characters");
  EXPECT_ERROR(test::error_of([&] { block_mask_from_json(with("n_heads", 3)); }), "counts 4 of 3 heads");
  EXPECT_ERROR(test::error_of([&] { block_mask_from_json(with("n_heads", 300)); }), "do not fit");
  EXPECT_ERROR(test::error_of([&] { block_mask_from_json(with("encoding", "png")); }), "unknown encoding");
  std::string bad = good.at("counts").get<std::string>();
  bad[0] = '*';
  EXPECT_ERROR(test::error_of([&] { block_mask_from_json(with("counts", bad)); }), "base64: invalid character");
  EXPECT_ERROR(test::error_of([&] { block_mask_from_json(with("counts", "AAAA")); }), "characters");
}

TEST(Base64, RoundTripsEveryTailLengthAndRejectsJunk) {
  std::vector<uint8_t> bytes;
  for (int n = 0; n < 10; ++n) {
    EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes) << n;
    EXPECT_EQ(base64_encode(bytes).size(), base64_length(bytes.size()));
    bytes.push_back(static_cast<uint8_t>(251 * n + 7));
  }
  EXPECT_EQ(base64_encode(std::vector<uint8_t>{'M', 'a', 'n'}), "TWFu");  // RFC 4648's example alphabet order
  EXPECT_EQ(base64_encode(std::vector<uint8_t>{'M'}), "TQ==");
  EXPECT_THROW(base64_decode("TQ="), Error);
  EXPECT_THROW(base64_decode("T=Q="), Error);
  EXPECT_THROW(base64_decode("TQ==TQ=="), Error);
}

}  // namespace
}  // namespace flux::engine
