#include "engine/attention/xattention.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/core/error.h"

namespace flux::engine {
namespace {

// The pthread build of OpenBLAS starts its own threads for products above 65536 * 4 multiply-adds, which
// oversubscribes (and warns) inside an OpenMP region; calls kept under that size run on the calling thread.
constexpr int64_t kSerialGemmMacs = 262144;

// c[m x n] = alpha * a[m x k] * b[n x k]^T, row-major, split over columns so each BLAS call stays serial.
void gemm_nt_serial(int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda, const float* b,
                    int64_t ldb, float* c, int64_t ldc) {
  const int64_t chunk = std::max<int64_t>(1, kSerialGemmMacs / std::max<int64_t>(1, m * k));
  for (int64_t j0 = 0; j0 < n; j0 += chunk) {
    const int64_t nn = std::min(chunk, n - j0);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(nn),
                static_cast<int>(k), alpha, a, static_cast<int>(lda), b + j0 * ldb, static_cast<int>(ldb), 0.0f,
                c + j0, static_cast<int>(ldc));
  }
}

void check_shapes(int64_t n_tokens, int n_heads, int n_kv_heads, int head_dim) {
  require(n_tokens >= 0, "xattention: negative token count {}", n_tokens);
  require(n_heads >= 1 && n_kv_heads >= 1 && n_heads % n_kv_heads == 0,
          "xattention: {} query heads is not a multiple of {} kv heads", n_heads, n_kv_heads);
  require(head_dim >= 1, "xattention: head_dim must be >= 1, got {}", head_dim);
}

}  // namespace

std::vector<float> xattention_block_scores(const float* q, const float* k, int64_t n_tokens, int n_heads,
                                           int n_kv_heads, int head_dim, const AttentionPlan& plan) {
  validate(plan);
  check_shapes(n_tokens, n_heads, n_kv_heads, head_dim);
  const int64_t S = plan.stride, d = head_dim, W = S * d;  // W: width of a reshaped (stride-concatenated) row
  const int64_t R = plan.block / S;                        // coarse rows (and columns) per block
  const int64_t m = (n_tokens + S - 1) / S;                // coarse rows = coarse columns
  const int64_t nb = (n_tokens + plan.block - 1) / plan.block;
  const int64_t group = n_heads / n_kv_heads;
  const float scale = 1.0f / (std::sqrt(static_cast<float>(d)) * static_cast<float>(S));

  // K~ per kv head: row c is k[c*S], k[c*S+1], ..., k[c*S+S-1] concatenated; tokens past the end are zero.
  std::vector<float> kt(static_cast<std::size_t>(n_kv_heads * m * W), 0.0f);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t g = 0; g < n_kv_heads; ++g) {
    for (int64_t c = 0; c < m; ++c) {
      for (int64_t r = 0; r < S && c * S + r < n_tokens; ++r) {
        const float* src = k + ((c * S + r) * n_kv_heads + g) * d;
        std::copy(src, src + d, kt.data() + (g * m + c) * W + r * d);
      }
    }
  }

  std::vector<float> scores(static_cast<std::size_t>(n_heads * nb * nb), 0.0f);
#pragma omp parallel
  {
    // Sized by the rows a task can have (a block's, or the whole prompt's when the block is longer): a block of
    // 16M tokens on a 7-token prompt asked each thread for 4 GB.
    const int64_t task_rows = std::min(R, m);
    std::vector<float> qt(static_cast<std::size_t>(task_rows * W));
    std::vector<float> logits(static_cast<std::size_t>(task_rows * m));
    std::vector<double> acc(static_cast<std::size_t>(nb));
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < n_heads * nb; ++task) {
      const int64_t h = task / nb, qb = task % nb, g = h / group;
      const int64_t a0 = qb * R, a1 = std::min(a0 + R, m), rows = a1 - a0, cols = a1;
      // Q~ ("inverse" order): row a is q[a*S+S-1], q[a*S+S-2], ..., q[a*S] concatenated.
      std::fill(qt.begin(), qt.end(), 0.0f);
      for (int64_t a = a0; a < a1; ++a) {
        for (int64_t r = 0; r < S; ++r) {
          const int64_t t = a * S + S - 1 - r;
          if (t >= n_tokens) continue;
          const float* src = q + (t * n_heads + h) * d;
          std::copy(src, src + d, qt.data() + (a - a0) * W + r * d);
        }
      }
      gemm_nt_serial(rows, cols, W, scale, qt.data(), W, kt.data() + g * m * W, W, logits.data(), cols);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t a = a0; a < a1; ++a) {
        const float* row = logits.data() + (a - a0) * cols;  // coarse causal: columns c <= a only
        const double mx = *std::max_element(row, row + a + 1);
        double sum = 0.0;
        for (int64_t c = 0; c <= a; ++c) sum += std::exp(static_cast<double>(row[c]) - mx);
        for (int64_t c = 0; c <= a; ++c) acc[c / R] += std::exp(static_cast<double>(row[c]) - mx) / sum;
      }
      float* out = scores.data() + (h * nb + qb) * nb;
      for (int64_t kb = 0; kb <= qb; ++kb) out[kb] = static_cast<float>(acc[kb]);
    }
  }
  return scores;
}

BlockLists select_blocks_from_scores(const std::vector<float>& scores, int n_heads, int n_q_blocks, int n_kv_blocks,
                                     float threshold) {
  require(n_heads >= 1 && n_q_blocks >= 0 && n_kv_blocks >= n_q_blocks,
          "select_blocks_from_scores: bad shape heads={} q_blocks={} kv_blocks={}", n_heads, n_q_blocks, n_kv_blocks);
  require(scores.size() == static_cast<std::size_t>(n_heads) * n_q_blocks * n_kv_blocks,
          "select_blocks_from_scores: {} scores for {}x{}x{} blocks", scores.size(), n_heads, n_q_blocks, n_kv_blocks);
  require(std::isfinite(threshold) && threshold > 0.0f, "select_blocks_from_scores: threshold {} must be > 0",
          threshold);
  BlockLists lists;
  lists.block = 0;
  lists.n_heads = n_heads;
  lists.n_q_blocks = n_q_blocks;
  lists.n_kv_blocks = n_kv_blocks;
  lists.offsets.reserve(static_cast<std::size_t>(n_heads) * n_q_blocks + 1);
  lists.offsets.push_back(0);
  std::vector<int32_t> order;
  for (int h = 0; h < n_heads; ++h) {
    for (int qb = 0; qb < n_q_blocks; ++qb) {
      const float* row = scores.data() + (static_cast<std::size_t>(h) * n_q_blocks + qb) * n_kv_blocks;
      const int diag = qb + n_kv_blocks - n_q_blocks;
      const std::size_t row_begin = lists.kv_blocks.size();
      if (threshold >= 1.0f) {
        for (int kb = 0; kb <= diag; ++kb) lists.kv_blocks.push_back(kb);
      } else {
        double total = 0.0;
        for (int kb = 0; kb <= diag; ++kb) total += row[kb];
        const double required = static_cast<double>(threshold) * total;
        // The forced blocks count first, then the rest in descending score; the block that crosses is kept.
        double cum = static_cast<double>(row[0]) + (diag > 0 ? static_cast<double>(row[diag]) : 0.0);
        lists.kv_blocks.push_back(0);
        if (diag > 0) lists.kv_blocks.push_back(diag);
        order.resize(diag > 1 ? diag - 1 : 0);
        std::iota(order.begin(), order.end(), 1);
        std::stable_sort(order.begin(), order.end(), [row](int32_t x, int32_t y) { return row[x] > row[y]; });
        for (const int32_t kb : order) {
          if (!(cum < required)) break;
          lists.kv_blocks.push_back(kb);
          cum += row[kb];
        }
        std::sort(lists.kv_blocks.begin() + static_cast<std::ptrdiff_t>(row_begin), lists.kv_blocks.end());
      }
      lists.offsets.push_back(static_cast<int32_t>(lists.kv_blocks.size()));
    }
  }
  return lists;
}

BlockLists xattention_select(const float* q, const float* k, int64_t n_tokens, int n_heads, int n_kv_heads,
                             int head_dim, const AttentionPlan& plan) {
  const std::vector<float> scores = xattention_block_scores(q, k, n_tokens, n_heads, n_kv_heads, head_dim, plan);
  const int nb = static_cast<int>((n_tokens + plan.block - 1) / plan.block);
  BlockLists lists = select_blocks_from_scores(scores, n_heads, nb, nb, plan.threshold);
  lists.block = plan.block;
  return lists;
}

}  // namespace flux::engine
