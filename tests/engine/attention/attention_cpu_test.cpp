// CPU attention against a naive dense reference (double QK^T, explicit mask, softmax, .V) for every mode, GQA ratio,
// head dim and awkward length; decode against prefill rows and the token-exact streaming mask.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/attention/attention_cpu.h"
#include "engine/attention/xattention.h"
#include "engine/core/error.h"
#include "tests/engine/support/attention_test_data.h"

namespace flux::engine {
namespace {

using flux::test::random_vec;
using flux::test::rel_error;

using AllowFn = std::function<bool(int h, int64_t i, int64_t j)>;

struct Qkv {
  int64_t n_q, n_kv;
  int hq, hkv, d;
  std::vector<float> q, k, v;
};

// q amplitude 3 makes the softmax peaked enough that wrong masks show.
Qkv make_qkv(int64_t n_q, int64_t n_kv, int hq, int hkv, int d, uint32_t seed) {
  return {n_q,
          n_kv,
          hq,
          hkv,
          d,
          random_vec(static_cast<std::size_t>(n_q * hq * d), seed, 3.0f),
          random_vec(static_cast<std::size_t>(n_kv * hkv * d), seed + 1, 1.0f),
          random_vec(static_cast<std::size_t>(n_kv * hkv * d), seed + 2, 1.0f)};
}

std::vector<double> naive_attention(const Qkv& x, int64_t q_pos0, const AllowFn& allowed) {
  const int64_t d = x.d, group = x.hq / x.hkv;
  std::vector<double> out(static_cast<std::size_t>(x.n_q * x.hq * d), 0.0);
  std::vector<double> s(static_cast<std::size_t>(x.n_kv));
  for (int h = 0; h < x.hq; ++h) {
    const int64_t g = h / group;
    for (int64_t r = 0; r < x.n_q; ++r) {
      const int64_t i = q_pos0 + r;
      double mx = -INFINITY;
      for (int64_t j = 0; j < x.n_kv; ++j) {
        s[j] = -INFINITY;
        if (!allowed(h, i, j)) continue;
        double dot = 0.0;
        for (int64_t e = 0; e < d; ++e) dot += double{x.q[(r * x.hq + h) * d + e]} * x.k[(j * x.hkv + g) * d + e];
        s[j] = dot / std::sqrt(static_cast<double>(d));
        mx = std::max(mx, s[j]);
      }
      double sum = 0.0;
      for (int64_t j = 0; j < x.n_kv; ++j) sum += std::isinf(s[j]) ? 0.0 : std::exp(s[j] - mx);
      double* o = out.data() + (r * x.hq + h) * d;
      for (int64_t j = 0; j < x.n_kv; ++j) {
        if (std::isinf(s[j])) continue;
        const double p = std::exp(s[j] - mx) / sum;
        for (int64_t e = 0; e < d; ++e) o[e] += p * x.v[(j * x.hkv + g) * d + e];
      }
    }
  }
  return out;
}

// The reference mask of a plan: mask_allows, or for XAttention the selected blocks of the head plus causality.
AllowFn reference_mask(const AttentionPlan& plan, const BlockLists& lists, int64_t n_kv) {
  if (plan.mode != AttentionMode::XAttention) {
    return [plan, n_kv](int, int64_t i, int64_t j) { return mask_allows(plan, n_kv, i, j); };
  }
  return [&lists, block = plan.block](int h, int64_t i, int64_t j) {
    if (j > i) return false;
    const auto row = lists.row(h, static_cast<int>(i / block));
    return std::binary_search(row.begin(), row.end(), static_cast<int32_t>(j / block));
  };
}

AttentionPlan small_plan(AttentionMode mode, bool token_exact, int block) {
  AttentionPlan p;
  p.mode = mode;
  p.block = block;
  p.sink = 16;
  p.window = 48;
  p.n_last = 20;
  p.stride = 8;
  p.threshold = 0.6f;
  p.token_exact = token_exact;
  return p;
}

struct ModeCase {
  AttentionMode mode;
  bool token_exact;
};
const ModeCase kModes[] = {{AttentionMode::Full, false},     {AttentionMode::Streaming, false},
                           {AttentionMode::Streaming, true}, {AttentionMode::Triangle, false},
                           {AttentionMode::Triangle, true},  {AttentionMode::XAttention, false}};

void check_prefill(int64_t n, int hq, int hkv, int d, const AttentionPlan& plan, uint32_t seed) {
  const Qkv x = make_qkv(n, n, hq, hkv, d, seed);
  const BlockLists lists = plan_block_lists(plan, x.q.data(), x.k.data(), n, hq, hkv, d);
  std::vector<float> out(x.q.size(), NAN);
  attention_prefill_cpu(x.q.data(), x.k.data(), x.v.data(), n, 0, n, hq, hkv, d, plan, lists, out.data());
  const double err = rel_error(out, naive_attention(x, 0, reference_mask(plan, lists, n)));
  EXPECT_LT(err, 1e-5) << "n=" << n << " heads=" << hq << "/" << hkv << " d=" << d << " mode="
                       << attention_mode_name(plan.mode) << " exact=" << plan.token_exact << " block=" << plan.block;
}

TEST(AttentionPrefill, MatchesNaiveAcrossModesShapesAndGqa) {
  const int shapes[][3] = {{2, 2, 128}, {3, 1, 64}, {8, 2, 64}};  // GQA ratios 1, 3, 4
  uint32_t seed = 11;
  for (int64_t n : {1, 7, 130}) {
    for (const ModeCase& m : kModes) {
      for (const auto& s : shapes) check_prefill(n, s[0], s[1], s[2], small_plan(m.mode, m.token_exact, 32), ++seed);
    }
  }
}

TEST(AttentionPrefill, MatchesNaiveOnLongerPrompts) {
  uint32_t seed = 101;
  int i = 0;
  for (const ModeCase& m : kModes) {
    // 257: one token past a block edge; block 16 gives many blocks; rotating GQA ratio and head dim.
    check_prefill(257, i % 2 ? 4 : 3, 1, i % 2 ? 64 : 128, small_plan(m.mode, m.token_exact, 16), ++seed);
    if (!m.token_exact) check_prefill(1000, 3, 1, 64, small_plan(m.mode, m.token_exact, 32), ++seed);
    ++i;
  }
}

TEST(AttentionPrefill, DefaultPlanSizes) {
  for (AttentionMode mode : {AttentionMode::Full, AttentionMode::Streaming, AttentionMode::XAttention}) {
    AttentionPlan p;
    p.mode = mode;
    p.window = 160;  // a sparse default-block streaming layout at n = 700
    check_prefill(700, 2, 1, 64, p, 7);
  }
}

TEST(AttentionPrefill, ChunkedQueriesMatchNaive) {
  const int64_t n_kv = 300;
  for (const ModeCase& m : kModes) {
    if (m.mode == AttentionMode::XAttention) continue;  // XAttention scores whole prompts
    const AttentionPlan plan = small_plan(m.mode, m.token_exact, 32);
    const BlockLists lists = build_block_lists(plan, n_kv);
    const Qkv all = make_qkv(n_kv, n_kv, 6, 2, 64, 31);
    const std::pair<int64_t, int64_t> chunks[] = {{100, 200}, {250, 50}, {299, 1}, {0, 17}};
    for (const auto& [q_pos0, n_q] : chunks) {
      Qkv x = all;
      x.n_q = n_q;
      x.q.assign(all.q.begin() + q_pos0 * 6 * 64, all.q.begin() + (q_pos0 + n_q) * 6 * 64);
      std::vector<float> out(x.q.size(), NAN);
      attention_prefill_cpu(x.q.data(), x.k.data(), x.v.data(), n_q, q_pos0, n_kv, 6, 2, 64, plan, lists, out.data());
      EXPECT_LT(rel_error(out, naive_attention(x, q_pos0, reference_mask(plan, lists, n_kv))), 1e-5)
          << attention_mode_name(m.mode) << " " << q_pos0 << "+" << n_q;
    }
  }
}

TEST(AttentionPrefill, RejectsMismatchedLists) {
  const Qkv x = make_qkv(64, 64, 2, 1, 64, 3);
  std::vector<float> out(x.q.size());
  AttentionPlan plan = small_plan(AttentionMode::Full, false, 32);
  const BlockLists lists = build_block_lists(plan, 64);
  plan.block = 16;
  plan.stride = 16;
  EXPECT_THROW(attention_prefill_cpu(x.q.data(), x.k.data(), x.v.data(), 64, 0, 64, 2, 1, 64, plan, lists,
                                     out.data()),
               Error);
  plan.block = 32;
  EXPECT_THROW(attention_prefill_cpu(x.q.data(), x.k.data(), x.v.data(), 64, 10, 64, 2, 1, 64, plan, lists,
                                     out.data()),
               Error);  // queries past the keys
  BlockLists missing_diagonal = lists;
  missing_diagonal.kv_blocks = {0};
  missing_diagonal.offsets = {0, 1, 1};
  EXPECT_THROW(attention_prefill_cpu(x.q.data(), x.k.data(), x.v.data(), 64, 0, 64, 2, 1, 64, plan,
                                     missing_diagonal, out.data()),
               Error);  // rows 32..63 list no block, so see no key
}

TEST(AttentionDecode, FullEqualsLastPrefillRow) {
  const std::tuple<int, int, int> shapes[] = {{3, 1, 64}, {4, 4, 128}, {8, 2, 64}};
  for (const auto& [hq, hkv, d] : shapes) {
    const int64_t n = 200;
    const Qkv x = make_qkv(n, n, hq, hkv, d, 41);
    const AttentionPlan plan = small_plan(AttentionMode::Full, false, 32);
    std::vector<float> prefill(x.q.size());
    attention_prefill_cpu(x.q.data(), x.k.data(), x.v.data(), n, 0, n, hq, hkv, d, plan,
                          build_block_lists(plan, n), prefill.data());
    std::vector<float> dec(static_cast<std::size_t>(hq * d));
    attention_decode_cpu(x.q.data() + (n - 1) * hq * d, x.k.data(), x.v.data(), n, hq, hkv, d, dec.data());
    const std::vector<double> last(prefill.end() - hq * d, prefill.end());
    EXPECT_LT(rel_error(dec, last), 1e-5);
  }
}

TEST(AttentionDecode, StreamingRangesMatchTokenExactMask) {
  const int hq = 6, hkv = 2, d = 64;
  for (int64_t n_ctx : {5, 63, 150}) {
    const Qkv x = make_qkv(1, n_ctx + 1, hq, hkv, d, 57 + static_cast<uint32_t>(n_ctx));
    AttentionPlan plan = small_plan(AttentionMode::Streaming, false, 32);
    const std::vector<KvRange> ranges = decode_ranges(plan, n_ctx);
    std::vector<float> out(static_cast<std::size_t>(hq * d));
    attention_decode_cpu(x.q.data(), x.k.data(), x.v.data(), ranges, hq, hkv, d, out.data());
    plan.token_exact = true;
    const auto want = naive_attention(x, n_ctx, [&](int, int64_t i, int64_t j) {
      return mask_allows(plan, n_ctx + 1, i, j);
    });
    EXPECT_LT(rel_error(out, want), 1e-5) << n_ctx;
    // The compacted cache (what a streaming layer keeps) gives the same answer.
    std::vector<float> k, v;
    for (const KvRange& r : ranges) {
      k.insert(k.end(), x.k.begin() + r.begin * hkv * d, x.k.begin() + r.end * hkv * d);
      v.insert(v.end(), x.v.begin() + r.begin * hkv * d, x.v.begin() + r.end * hkv * d);
    }
    std::vector<float> compact(out.size());
    attention_decode_cpu(x.q.data(), k.data(), v.data(), static_cast<int64_t>(k.size() / (hkv * d)), hq, hkv, d,
                         compact.data());
    EXPECT_LT(rel_error(compact, std::vector<double>(out.begin(), out.end())), 1e-6);
  }
}

// Long enough caches that decode runs its heads in parallel (the demo model's 9/3 heads, d 64, 1500 and 4100 rows):
// dense and block-streaming ranges (two runs, odd lengths) against the naive masked reference.
TEST(AttentionDecode, ParallelHeadsMatchNaiveOnLongCaches) {
  const int hq = 9, hkv = 3, d = 64;
  for (int64_t n_ctx : {1499, 4099}) {
    const Qkv x = make_qkv(1, n_ctx + 1, hq, hkv, d, 71 + static_cast<uint32_t>(n_ctx));
    std::vector<float> dense(static_cast<std::size_t>(hq * d));
    attention_decode_cpu(x.q.data(), x.k.data(), x.v.data(), n_ctx + 1, hq, hkv, d, dense.data());
    EXPECT_LT(rel_error(dense, naive_attention(x, n_ctx, [](int, int64_t i, int64_t j) { return j <= i; })), 1e-5);
    AttentionPlan plan = small_plan(AttentionMode::Streaming, false, 128);
    plan.sink = 128;
    plan.window = 1024;
    const std::vector<KvRange> ranges = decode_ranges(plan, n_ctx);
    ASSERT_EQ(ranges.size(), 2u);
    std::vector<float> sparse(dense.size());
    attention_decode_cpu(x.q.data(), x.k.data(), x.v.data(), ranges, hq, hkv, d, sparse.data());
    plan.token_exact = true;
    const auto want = naive_attention(x, n_ctx, [&](int, int64_t i, int64_t j) {
      return mask_allows(plan, n_ctx + 1, i, j);
    });
    EXPECT_LT(rel_error(sparse, want), 1e-5) << n_ctx;
  }
}

TEST(AttentionDecode, RejectsEmptyOrUnorderedRanges) {
  const std::vector<float> q(64), k(64 * 10), v(64 * 10);
  std::vector<float> out(64);
  EXPECT_THROW(attention_decode_cpu(q.data(), k.data(), v.data(), 0, 1, 1, 64, out.data()), Error);
  const std::vector<KvRange> bad = {{5, 8}, {2, 4}};
  EXPECT_THROW(attention_decode_cpu(q.data(), k.data(), v.data(), bad, 1, 1, 64, out.data()), Error);
}

}  // namespace
}  // namespace flux::engine
