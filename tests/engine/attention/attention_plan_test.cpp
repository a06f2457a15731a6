// AttentionPlan: names, validation, the token-level masks against their definitions in ALGORITHMS.md, block list
// structure (exactly the blocks holding an allowed pair), density and decode ranges.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "engine/attention/attention_plan.h"
#include "engine/core/error.h"

namespace flux::engine {
namespace {

AttentionPlan small_plan(AttentionMode mode, bool token_exact = false) {
  AttentionPlan p;
  p.mode = mode;
  p.block = 16;
  p.sink = 16;
  p.window = 48;
  p.n_last = 20;
  p.stride = 8;
  p.token_exact = token_exact;
  return p;
}

std::vector<int32_t> row_vec(const BlockLists& l, int h, int qb) {
  const auto r = l.row(h, qb);
  return {r.begin(), r.end()};
}

TEST(AttentionPlan, ModeNamesRoundTrip) {
  for (AttentionMode m : {AttentionMode::Full, AttentionMode::Streaming, AttentionMode::Triangle,
                          AttentionMode::XAttention}) {
    EXPECT_EQ(parse_attention_mode(attention_mode_name(m)), m);
  }
  EXPECT_EQ(parse_attention_mode("FA"), AttentionMode::Full);
  EXPECT_EQ(parse_attention_mode("XAttention"), AttentionMode::XAttention);
  EXPECT_STREQ(attention_mode_name(AttentionMode::XAttention), "xattn");
  EXPECT_THROW(parse_attention_mode("sliding"), Error);
}

TEST(AttentionPlan, ValidateRejectsBadParameters) {
  EXPECT_NO_THROW(validate(AttentionPlan{}));
  auto bad = [](auto edit) {
    AttentionPlan p;
    edit(p);
    EXPECT_THROW(validate(p), Error);
  };
  bad([](AttentionPlan& p) { p.block = 0; });
  bad([](AttentionPlan& p) { p.stride = 0; });
  bad([](AttentionPlan& p) { p.block = 120; });  // not a multiple of stride 16
  bad([](AttentionPlan& p) { p.window = 0; });
  bad([](AttentionPlan& p) { p.sink = -1; });
  bad([](AttentionPlan& p) { p.n_last = -1; });
  bad([](AttentionPlan& p) { p.threshold = 0.0f; });
  bad([](AttentionPlan& p) { p.threshold = 1.5f; });
  bad([](AttentionPlan& p) { p.threshold = std::nanf(""); });
}

// The definitions of ALGORITHMS.md sections 2-3, written independently of the implementation.
bool spec_allows(const AttentionPlan& p, int64_t n, int64_t i, int64_t j) {
  if (j > i) return false;
  if (p.mode == AttentionMode::Full || p.mode == AttentionMode::XAttention) return true;
  if (p.mode == AttentionMode::Triangle && i >= n - p.n_last) return true;
  if (p.token_exact) return j < p.sink || i - j < p.window;
  const int64_t sink_blocks = (p.sink + p.block - 1) / p.block, local_blocks = (p.window + p.block - 1) / p.block;
  const int64_t b = i / p.block, kb = j / p.block;
  return kb < sink_blocks || (kb >= b - local_blocks + 1 && kb <= b);
}

TEST(AttentionPlan, MaskAllowsMatchesDefinitions) {
  const int64_t n = 150;
  for (AttentionMode mode : {AttentionMode::Full, AttentionMode::Streaming, AttentionMode::Triangle}) {
    for (bool exact : {false, true}) {
      for (int block : {16, 32}) {
        AttentionPlan p = small_plan(mode, exact);
        p.block = block;
        p.window = 40;  // not a multiple of the block
        for (int64_t i = 0; i < n; ++i) {
          for (int64_t j = 0; j < n; ++j) ASSERT_EQ(mask_allows(p, n, i, j), spec_allows(p, n, i, j)) << i << " " << j;
        }
      }
    }
  }
}

TEST(AttentionPlan, BlockFormEqualsTokenExactAtBlockOne) {
  AttentionPlan block_form = small_plan(AttentionMode::Streaming);
  block_form.block = 1;
  block_form.stride = 1;
  AttentionPlan exact = block_form;
  exact.token_exact = true;
  for (int64_t i = 0; i < 120; ++i) {
    for (int64_t j = 0; j < 120; ++j) ASSERT_EQ(mask_allows(block_form, 120, i, j), mask_allows(exact, 120, i, j));
  }
  // With blocks, the block form sees whole local blocks: a query at a block start sees fewer recent tokens.
  const AttentionPlan blocks = small_plan(AttentionMode::Streaming);
  EXPECT_FALSE(mask_allows(blocks, 200, 64, 64 - 47));  // block 1 is outside [4 - 3 + 1, 4]
  exact = blocks;
  exact.token_exact = true;
  EXPECT_TRUE(mask_allows(exact, 200, 64, 64 - 47));
}

TEST(AttentionBlockLists, StreamingRowsAreSinkAndLocalBlocks) {
  const AttentionPlan p = small_plan(AttentionMode::Streaming);  // sink 1 block, 3 local blocks
  const BlockLists l = build_block_lists(p, 257);
  ASSERT_EQ(l.n_q_blocks, 17);
  EXPECT_EQ(l.n_heads, 1);
  for (int qb = 0; qb < l.n_q_blocks; ++qb) {
    std::set<int32_t> expect;
    for (int b = 0; b <= qb; ++b) {
      if (b < 1 || b > qb - 3) expect.insert(b);
    }
    EXPECT_EQ(row_vec(l, 0, qb), std::vector<int32_t>(expect.begin(), expect.end())) << qb;
  }
  EXPECT_EQ(row_vec(l, 5, 10), (std::vector<int32_t>{0, 8, 9, 10}));  // the head index is ignored when shared
}

TEST(AttentionBlockLists, ListsHoldExactlyTheBlocksWithAnAllowedPair) {
  for (int64_t n : {1, 7, 16, 130, 257}) {
    for (AttentionMode mode : {AttentionMode::Full, AttentionMode::Streaming, AttentionMode::Triangle}) {
      for (bool exact : {false, true}) {
        for (int window : {48, 40, 7}) {
          AttentionPlan p = small_plan(mode, exact);
          p.window = window;
          p.sink = window == 7 ? 0 : 16;
          const BlockLists l = build_block_lists(p, n);
          ASSERT_EQ(l.n_q_blocks, (n + 15) / 16);
          ASSERT_EQ(l.offsets.size(), static_cast<std::size_t>(l.n_q_blocks) + 1);
          for (int qb = 0; qb < l.n_q_blocks; ++qb) {
            std::vector<int32_t> expect;
            for (int kb = 0; kb < l.n_kv_blocks; ++kb) {
              bool any = false;
              for (int64_t i = qb * 16; i < std::min<int64_t>(n, qb * 16 + 16) && !any; ++i) {
                for (int64_t j = kb * 16; j < std::min<int64_t>(n, kb * 16 + 16) && !any; ++j) {
                  any = spec_allows(p, n, i, j);
                }
              }
              if (any) expect.push_back(kb);
            }
            ASSERT_EQ(row_vec(l, 0, qb), expect) << "n=" << n << " mode=" << attention_mode_name(mode)
                                                 << " exact=" << exact << " window=" << window << " qb=" << qb;
          }
        }
      }
    }
  }
}

TEST(AttentionBlockLists, Density) {
  AttentionPlan p;
  p.mode = AttentionMode::Full;
  EXPECT_DOUBLE_EQ(build_block_lists(p, 1024).density(), 1.0);
  p.mode = AttentionMode::Streaming;
  p.sink = 128;
  p.window = 256;  // blocks: {0}, {0,1}, then {0, b-1, b}
  EXPECT_DOUBLE_EQ(build_block_lists(p, 1024).density(), 21.0 / 36.0);
  p.mode = AttentionMode::Triangle;
  p.n_last = 100;  // only the last block holds last queries: it lists all 8 blocks
  EXPECT_DOUBLE_EQ(build_block_lists(p, 1024).density(), 26.0 / 36.0);
  p.n_last = 129;  // the last two blocks
  EXPECT_DOUBLE_EQ(build_block_lists(p, 1024).density(), 30.0 / 36.0);
  EXPECT_DOUBLE_EQ(build_block_lists(p, 0).density(), 1.0);
}

TEST(AttentionBlockLists, XAttentionNeedsData) {
  AttentionPlan p;
  p.mode = AttentionMode::XAttention;
  EXPECT_THROW(build_block_lists(p, 100), Error);
}

TEST(AttentionPlan, DecodeRanges) {
  AttentionPlan p = small_plan(AttentionMode::Streaming);
  auto same = [](const std::vector<KvRange>& got, std::vector<KvRange> want) {
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].begin, want[i].begin);
      EXPECT_EQ(got[i].end, want[i].end);
    }
  };
  same(decode_ranges(p, 10), {{0, 11}});
  same(decode_ranges(p, 63), {{0, 64}});  // [0,16) and [16,64) touch: merged
  same(decode_ranges(p, 100), {{0, 16}, {53, 101}});
  p.sink = 0;
  same(decode_ranges(p, 100), {{53, 101}});
  for (AttentionMode m : {AttentionMode::Full, AttentionMode::Triangle, AttentionMode::XAttention}) {
    p.mode = m;
    same(decode_ranges(p, 100), {{0, 101}});
  }
  // Streaming ranges are the token-exact mask of the decode query, for either prefill form.
  for (bool exact : {false, true}) {
    AttentionPlan s = small_plan(AttentionMode::Streaming, exact);
    AttentionPlan spec = s;
    spec.token_exact = true;
    for (int64_t n_ctx = 0; n_ctx < 130; ++n_ctx) {
      std::vector<bool> in(static_cast<std::size_t>(n_ctx + 1), false);
      for (const KvRange& r : decode_ranges(s, n_ctx)) {
        for (int64_t j = r.begin; j < r.end; ++j) in[static_cast<std::size_t>(j)] = true;
      }
      for (int64_t j = 0; j <= n_ctx; ++j) ASSERT_EQ(in[static_cast<std::size_t>(j)], mask_allows(spec, n_ctx + 1, n_ctx, j));
    }
  }
}

}  // namespace
}  // namespace flux::engine
