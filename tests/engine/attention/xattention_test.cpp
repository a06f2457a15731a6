// XAttention: block scores against an explicit antidiagonal-sum implementation, and the selection rule's properties
// (forced blocks, threshold reached, minimal, top-k, tau = 1 dense) plus hand-worked rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "engine/attention/xattention.h"
#include "engine/core/error.h"
#include "tests/engine/support/attention_test_data.h"

namespace flux::engine {
namespace {

using flux::test::random_vec;

// Straight from ALGORITHMS.md section 4, in double: each coarse entry is an explicit sum along the antidiagonal
// (query a*S+S-1-t, key c*S+t) of the S x S tile of QK^T, out-of-range tokens counting as zero vectors.
std::vector<double> naive_scores(const std::vector<float>& q, const std::vector<float>& k, int64_t n, int hq,
                                 int hkv, int d, int stride, int block) {
  const int64_t m = (n + stride - 1) / stride, nb = (n + block - 1) / block, per_block = block / stride;
  std::vector<double> scores(static_cast<std::size_t>(hq * nb * nb), 0.0);
  auto dot = [&](int h, int64_t i, int64_t j) {
    if (i >= n || j >= n) return 0.0;
    const int g = h / (hq / hkv);
    double s = 0.0;
    for (int e = 0; e < d; ++e) s += double{q[(i * hq + h) * d + e]} * k[(j * hkv + g) * d + e];
    return s;
  };
  std::vector<double> row(static_cast<std::size_t>(m));
  for (int h = 0; h < hq; ++h) {
    for (int64_t a = 0; a < m; ++a) {
      for (int64_t c = 0; c <= a; ++c) {
        double sum = 0.0;
        for (int t = 0; t < stride; ++t) sum += dot(h, a * stride + stride - 1 - t, c * stride + t);
        row[c] = sum / (std::sqrt(static_cast<double>(d)) * stride);
      }
      const double mx = *std::max_element(row.begin(), row.begin() + a + 1);
      double total = 0.0;
      for (int64_t c = 0; c <= a; ++c) total += std::exp(row[c] - mx);
      for (int64_t c = 0; c <= a; ++c) {
        scores[(h * nb + a / per_block) * nb + c / per_block] += std::exp(row[c] - mx) / total;
      }
    }
  }
  return scores;
}

TEST(XAttention, BlockScoresMatchAntidiagonalSums) {
  struct Case {
    int64_t n;
    int hq, hkv, d, stride, block;
  };
  const Case cases[] = {{7, 2, 2, 64, 8, 32},     {130, 3, 1, 64, 8, 32},   {257, 4, 2, 128, 16, 64},
                        {300, 8, 2, 64, 16, 128}, {1000, 3, 1, 64, 16, 64}, {64, 1, 1, 64, 16, 16}};
  uint32_t seed = 5;
  for (const Case& c : cases) {
    const auto q = random_vec(static_cast<std::size_t>(c.n * c.hq * c.d), ++seed, 2.0f);
    const auto k = random_vec(static_cast<std::size_t>(c.n * c.hkv * c.d), ++seed, 2.0f);
    AttentionPlan plan;
    plan.mode = AttentionMode::XAttention;
    plan.stride = c.stride;
    plan.block = c.block;
    const std::vector<float> got = xattention_block_scores(q.data(), k.data(), c.n, c.hq, c.hkv, c.d, plan);
    const std::vector<double> want = naive_scores(q, k, c.n, c.hq, c.hkv, c.d, c.stride, c.block);
    ASSERT_EQ(got.size(), want.size());
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 2e-5) << "n=" << c.n << " at " << i;
    // Each coarse row's softmax sums to 1: a block row sums to its number of coarse rows.
    const int64_t nb = (c.n + c.block - 1) / c.block, m = (c.n + c.stride - 1) / c.stride;
    for (int64_t qb = 0; qb < nb; ++qb) {
      double sum = 0.0;
      for (int64_t kb = 0; kb < nb; ++kb) sum += got[qb * nb + kb];
      EXPECT_NEAR(sum, std::min<int64_t>(m, (qb + 1) * c.block / c.stride) - qb * c.block / c.stride, 1e-4);
    }
  }
}

std::vector<int32_t> row_vec(const BlockLists& l, int h, int qb) {
  const auto r = l.row(h, qb);
  return {r.begin(), r.end()};
}

TEST(XAttention, SelectionHandWorkedRows) {
  // One head, four query blocks; only the last row (diagonal 3) matters here.
  auto select_last = [](std::vector<float> last_row, float tau) {
    std::vector<float> scores(16, 0.0f);
    for (int i = 0; i < 4; ++i) scores[12 + i] = last_row[i];
    for (int qb = 0; qb < 3; ++qb) scores[qb * 4] = 1.0f;
    return row_vec(select_blocks_from_scores(scores, 1, 4, 4, tau), 0, 3);
  };
  EXPECT_EQ(select_last({0.1f, 0.4f, 0.3f, 0.2f}, 0.25f), (std::vector<int32_t>{0, 3}));  // forced 0.3 >= 0.25
  EXPECT_EQ(select_last({0.1f, 0.4f, 0.3f, 0.2f}, 0.5f), (std::vector<int32_t>{0, 1, 3}));     // crosses at 0.7
  EXPECT_EQ(select_last({0.1f, 0.4f, 0.3f, 0.2f}, 0.75f), (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(select_last({0.1f, 0.3f, 0.3f, 0.3f}, 0.5f), (std::vector<int32_t>{0, 1, 3}));  // tie: lower index
  // Rectangular: 2 query blocks against 4 KV blocks, the queries being the last two blocks (diagonals 2 and 3).
  const std::vector<float> rect = {0.5f, 0.1f, 0.4f, 0.0f, 0.2f, 0.1f, 0.6f, 0.1f};
  const BlockLists l = select_blocks_from_scores(rect, 1, 2, 4, 0.95f);
  EXPECT_EQ(row_vec(l, 0, 0), (std::vector<int32_t>{0, 1, 2}));
  EXPECT_EQ(row_vec(l, 0, 1), (std::vector<int32_t>{0, 1, 2, 3}));  // 0.3, +0.6 = 0.9 < 0.95, +0.1
}

TEST(XAttention, SelectionRuleProperties) {
  const int heads = 3, nb = 40;
  std::mt19937 rng(77);
  std::exponential_distribution<float> heavy(1.0f);
  for (float tau : {0.1f, 0.5f, 0.9f, 0.99f}) {
    std::vector<float> scores(static_cast<std::size_t>(heads * nb * nb), 0.0f);
    for (int h = 0; h < heads; ++h) {
      for (int qb = 0; qb < nb; ++qb) {
        for (int kb = 0; kb <= qb; ++kb) scores[(h * nb + qb) * nb + kb] = std::pow(heavy(rng), 3.0f);
      }
    }
    const BlockLists l = select_blocks_from_scores(scores, heads, nb, nb, tau);
    ASSERT_EQ(l.n_heads, heads);
    for (int h = 0; h < heads; ++h) {
      for (int qb = 0; qb < nb; ++qb) {
        const float* s = scores.data() + (h * nb + qb) * nb;
        const std::vector<int32_t> row = row_vec(l, h, qb);
        ASSERT_TRUE(std::is_sorted(row.begin(), row.end()));
        ASSERT_EQ(std::adjacent_find(row.begin(), row.end()), row.end());
        ASSERT_EQ(row.front(), 0);
        ASSERT_EQ(row.back(), qb);  // the diagonal, and nothing past it
        double total = 0.0, kept = 0.0;
        for (int kb = 0; kb <= qb; ++kb) total += s[kb];
        float min_optional = INFINITY;
        for (int32_t kb : row) {
          kept += s[kb];
          if (kb != 0 && kb != qb) min_optional = std::min(min_optional, s[kb]);
        }
        EXPECT_GE(kept, tau * total);
        if (std::isfinite(min_optional)) {
          EXPECT_LT(kept - min_optional, tau * total);  // minimal: without the last block added it is short
          for (int kb = 1; kb < qb; ++kb) {             // top-k: nothing left out scores higher
            if (!std::binary_search(row.begin(), row.end(), kb)) {
              EXPECT_LE(s[kb], min_optional);
            }
          }
        }
      }
    }
  }
}

TEST(XAttention, ThresholdOneSelectsEveryCausalBlock) {
  const int64_t n = 300;
  const auto q = random_vec(static_cast<std::size_t>(n * 4 * 64), 1, 4.0f);
  const auto k = random_vec(static_cast<std::size_t>(n * 2 * 64), 2, 4.0f);
  AttentionPlan plan;
  plan.mode = AttentionMode::XAttention;
  plan.block = 32;
  plan.stride = 8;
  plan.threshold = 1.0f;
  const BlockLists l = xattention_select(q.data(), k.data(), n, 4, 2, 64, plan);
  EXPECT_EQ(l.block, 32);
  EXPECT_EQ(l.n_heads, 4);
  EXPECT_DOUBLE_EQ(l.density(), 1.0);
  plan.threshold = 0.5f;
  const double sparse = xattention_select(q.data(), k.data(), n, 4, 2, 64, plan).density();
  EXPECT_LT(sparse, 1.0);
  EXPECT_GT(sparse, 0.0);
}

TEST(XAttention, RejectsBadInput) {
  const std::vector<float> q(64 * 3 * 10), k(64 * 2 * 10);
  AttentionPlan plan;
  plan.mode = AttentionMode::XAttention;
  EXPECT_THROW(xattention_block_scores(q.data(), k.data(), 10, 3, 2, 64, plan), Error);  // 3 heads over 2 kv heads
  EXPECT_THROW(select_blocks_from_scores(std::vector<float>(5), 1, 2, 2, 0.9f), Error);
  EXPECT_THROW(select_blocks_from_scores(std::vector<float>(4), 1, 2, 1, 0.9f), Error);  // fewer kv than q blocks
}

}  // namespace
}  // namespace flux::engine
