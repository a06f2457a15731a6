// The two decode modes' read sets (decode_ranges, KvLayout::reads_at): FluxScope as before, Reference against a
// transcription of the library the authors decode with — Block-Sparse-Attention's fwdStreaming iterator
// (csrc/block_sparse_attn/src/flash_blockmask.h) and the causal bounds of its forward kernel (flash_fwd_kernel.h) —
// run for a q_len 1 query, at every position and for both kernel tile widths.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "engine/attention/attention_plan.h"
#include "engine/backend/decode_step.h"

namespace flux::engine {
namespace {

int ceil_div(int a, int b) {
  return (a + b - 1) / b;
}

// Keys a query at position p (cache of p + 1 keys, act_q = 1) reads under block_streaming_attn_func: the library's
// iterator with m_block_dim = n_block_dim = 128 (block here) and tile width k_block_n, m_block 0, causal, not local.
std::vector<bool> library_reads(int p, int sink_blocks, int local_blocks, int block, int k_block_n) {
  const int act_k = p + 1, act_q = 1, k_block_m = block;
  const int row_factor = 1, col_factor = block / k_block_n, loop_step_idx = 0;
  const int sink_block_num = sink_blocks * col_factor, local_block_num = local_blocks * col_factor;
  const int n_block_min = 0;
  const int n_block_max = std::min(ceil_div(act_k, k_block_n), ceil_div(k_block_m + act_k - act_q, k_block_n));
  const int start_row_idx = std::max((act_q - act_k) / block, 0);
  const int start_block_val =
      (ceil_div(std::max(act_k - act_q, 0), block) + 1 + loop_step_idx / row_factor - start_row_idx) * col_factor;
  const bool no_gap = start_block_val - n_block_min < sink_block_num + local_block_num;
  const int max_block_idx = std::min(sink_block_num + local_block_num, start_block_val - n_block_min);
  auto mask_val = [&](int i) {
    if (i > max_block_idx || i < 0) return -1;
    if (no_gap) {
      const int ret = start_block_val - 1 - i;
      return ret >= n_block_min ? ret : -1;
    }
    if (i < local_block_num) return start_block_val - 1 - i;
    const int ret = sink_block_num - 1 - (i - local_block_num);
    return ret >= n_block_min ? ret : -1;
  };
  auto max_no_larger = [&](int target) {
    if (max_block_idx == 0) return -1;
    int left = 0, right = max_block_idx - 1;
    while (left <= right) {
      const int mid = left + (right - left) / 2;
      if (mask_val(mid) > target) {
        left = mid + 1;
      } else {
        right = mid - 1;
      }
    }
    return (left < max_block_idx && mask_val(left) <= target) ? left : -1;
  };
  std::vector<bool> in(static_cast<std::size_t>(act_k), false);
  const int first = max_no_larger(n_block_max - 1);
  if (n_block_max <= n_block_min || first == -1 || mask_val(first) < n_block_min) return in;  // empty_line_flag
  for (int idx = first; idx < max_block_idx && mask_val(idx) != -1; ++idx) {
    const int n_block = mask_val(idx);
    // Causal columns of row 0: col < act_k - act_q + 1 (bottom-right aligned), and inside the keys.
    for (int j = n_block * k_block_n; j < (n_block + 1) * k_block_n && j < act_k; ++j) {
      in[static_cast<std::size_t>(j)] = true;
    }
  }
  return in;
}

std::vector<bool> as_mask(const std::vector<KvRange>& ranges, int64_t n) {
  std::vector<bool> in(static_cast<std::size_t>(n), false);
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    EXPECT_LT(ranges[i].begin, ranges[i].end);
    if (i > 0) {
      EXPECT_LT(ranges[i - 1].end, ranges[i].begin) << "ranges must be disjoint and not touch";
    }
    for (int64_t j = ranges[i].begin; j < ranges[i].end; ++j) in[static_cast<std::size_t>(j)] = true;
  }
  return in;
}

void same(const std::vector<KvRange>& got, const std::vector<KvRange>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].begin, want[i].begin) << "range " << i;
    EXPECT_EQ(got[i].end, want[i].end) << "range " << i;
  }
}

AttentionPlan reference_plan(AttentionMode mode, int sink, int window) {
  AttentionPlan p;
  p.mode = mode;
  p.block = 128;
  p.sink = sink;
  p.window = window;
  p.decode = DecodeMode::Reference;
  return p;
}

TEST(DecodeModes, ReferenceRangesAtBlockEdges) {
  // sink 128 (1 block), window 256 (2 blocks): the query block is ceil(p / 128).
  const AttentionPlan p = reference_plan(AttentionMode::Streaming, 128, 256);
  same(decode_ranges(p, 0), {{0, 1}});
  same(decode_ranges(p, 127), {{0, 128}});
  same(decode_ranges(p, 128), {{0, 129}});
  same(decode_ranges(p, 255), {{0, 256}});              // blocks 0 (sink) and 1..2: all
  same(decode_ranges(p, 256), {{0, 257}});              // query block 2: local blocks 1, 2
  same(decode_ranges(p, 257), {{0, 128}, {256, 258}});  // query block 3 (not held): local = block 2 only
  same(decode_ranges(p, 383), {{0, 128}, {256, 384}});
  same(decode_ranges(p, 384), {{0, 128}, {256, 385}});  // a multiple of 128: blocks 2, 3
  same(decode_ranges(p, 385), {{0, 128}, {384, 386}});
  same(decode_ranges(p, 1000), {{0, 128}, {896, 1001}});
  // Sink and window round up to whole blocks; token_exact does not change the decode form.
  AttentionPlan q = reference_plan(AttentionMode::Streaming, 1, 129);
  q.token_exact = true;
  same(decode_ranges(q, 385), {{0, 128}, {384, 386}});
  // One local block, no sink: a step inside a block reads nothing (the kernel writes zeros).
  const AttentionPlan one = reference_plan(AttentionMode::Streaming, 0, 128);
  same(decode_ranges(one, 128), {{128, 129}});
  same(decode_ranges(one, 129), {});
  same(decode_ranges(one, 0), {{0, 1}});
}

TEST(DecodeModes, ReferenceIsTheSameForEverySaKindAndDenseForFa) {
  for (AttentionMode m : {AttentionMode::Streaming, AttentionMode::Triangle, AttentionMode::XAttention}) {
    same(decode_ranges(reference_plan(m, 128, 256), 700), {{0, 128}, {640, 701}});
  }
  same(decode_ranges(reference_plan(AttentionMode::Full, 128, 256), 700), {{0, 701}});
}

TEST(DecodeModes, ReferenceEqualsBlockSparseAttentionForEveryPosition) {
  for (const auto& [sink, window] : {std::pair{128, 256}, std::pair{0, 128}, std::pair{0, 384}, std::pair{256, 128},
                                     std::pair{100, 1000}, std::pair{128, 1024}}) {
    for (AttentionMode m : {AttentionMode::Streaming, AttentionMode::Triangle, AttentionMode::XAttention}) {
      const AttentionPlan plan = reference_plan(m, sink, window);
      const KvLayout layout = KvLayout::block_streaming(sink, window, 128);
      for (int p = 0; p < 1400; ++p) {
        const std::vector<bool> ours = as_mask(decode_ranges(plan, p), p + 1);
        for (int tile : {128, 64, 32}) {
          ASSERT_EQ(ours, library_reads(p, ceil_div(sink, 128), ceil_div(window, 128), 128, tile))
              << "sink " << sink << " window " << window << " p " << p << " tile " << tile;
        }
        // The device-side rule reads the same rows of the full cache.
        const KvReads reads = layout.reads_at(p);
        std::vector<bool> rows(static_cast<std::size_t>(p + 1), false);
        for (int64_t j = 0; j < reads.rows; ++j) rows[static_cast<std::size_t>(reads.row(j))] = true;
        ASSERT_EQ(rows, ours) << "p " << p;
      }
    }
  }
}

TEST(DecodeModes, FluxScopeRangesAreUnchanged) {
  AttentionPlan p;
  p.block = 16, p.sink = 16, p.window = 48;
  p.mode = AttentionMode::Streaming;
  same(decode_ranges(p, 100), {{0, 16}, {53, 101}});  // token level, not blocks
  for (AttentionMode m : {AttentionMode::Full, AttentionMode::Triangle, AttentionMode::XAttention}) {
    p.mode = m;
    same(decode_ranges(p, 100), {{0, 101}});
  }
  // The ring the cache keeps reads what decode_ranges says (as many rows; which rows: kv_cache_test).
  const KvLayout ring{16, 48};
  EXPECT_TRUE(ring.ring());
  EXPECT_EQ(ring.reads_at(100).rows, 16 + 48);
  EXPECT_EQ(ring.reads_at(100).gap, 0);
  EXPECT_EQ(KvLayout{}.reads_at(100).rows, 101);
  EXPECT_FALSE(KvLayout::block_streaming(16, 48, 16).ring());
  EXPECT_EQ(KvLayout::block_streaming(16, 48, 16).slot_of(1000), 1000);  // nothing evicted
}

}  // namespace
}  // namespace flux::engine
