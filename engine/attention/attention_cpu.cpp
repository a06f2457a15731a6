#include "engine/attention/attention_cpu.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/attention/softmax_math.h"
#include "engine/attention/xattention.h"
#include "engine/backend/cpu/half_rows.h"
#include "engine/core/error.h"

namespace flux::engine {
namespace {

// The pthread build of OpenBLAS starts its own threads for products above 65536 * 4 multiply-adds, which
// oversubscribes (and warns) inside an OpenMP region; tiles are sized so every product stays under that.
constexpr int64_t kSerialGemmMacs = 262144;
int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Is every (i, j) with j <= i of the rectangle [i0, i1] x [j0, j1] allowed (so that only the causal edge can be
// masked)? May answer false for such a rectangle (the executor then masks element-wise, which is exact); never
// answers true for one with a masked element below the diagonal.
bool allowed_below_diagonal(const AttentionPlan& plan, int64_t n_tokens, int64_t i0, int64_t i1, int64_t j0,
                            int64_t j1) {
  if (plan.mode == AttentionMode::Full || plan.mode == AttentionMode::XAttention) return true;
  if (plan.mode == AttentionMode::Triangle && i0 >= n_tokens - plan.n_last) return true;
  if (plan.token_exact) return j1 < plan.sink || i1 - j0 < plan.window;
  const int64_t b = plan.block;
  return j1 / b < ceil_div(plan.sink, b) || i1 / b - j0 / b < ceil_div(plan.window, b);
}

// Scores of the tile at [p0, p0 + rows) x [j0, j0 + cols) that the plan masks set to -inf. The diagonal tiles of
// every mode and all of a full mask's are masked by the causal edge only: one fill per row instead of a
// mask_allows call per score (those calls were ~2.5 % of a 4K streaming prefill).
void mask_tile(const AttentionPlan& plan, int64_t n_tokens, int64_t p0, int64_t rows, int64_t j0, int64_t cols,
               float* s) {
  const int64_t i1 = p0 + rows - 1, j1 = j0 + cols - 1;
  if (j1 <= p0 && allowed_below_diagonal(plan, n_tokens, p0, i1, j0, j1)) return;
  if (allowed_below_diagonal(plan, n_tokens, p0, i1, j0, j1)) {
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t first_masked = std::clamp<int64_t>(p0 + r - j0 + 1, 0, cols);
      std::fill(s + r * cols + first_masked, s + (r + 1) * cols, kNegInf);
    }
    return;
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      if (!mask_allows(plan, n_tokens, p0 + r, j0 + c)) s[r * cols + c] = kNegInf;
}

// Everything one prefill call shares across its tasks.
struct PrefillCtx {
  const float* q;
  KvRows kv;
  float* out;
  int64_t q_pos0, n_kv;
  int64_t n_heads, n_kv_heads, d, group;
  int64_t q_tile, kv_tile;
  float scale;
  const AttentionPlan* plan;
};

struct Scratch {
  std::vector<float> s, o, m, l;
  std::vector<float> k, v;  // an fp16 cache's tile widened to fp32 (empty for an fp32 cache)
};

// Rows [j0, j0 + n) of KV head g of one of the cache's tensors as fp32, and their stride.
const float* kv_rows(const PrefillCtx& cx, const void* base, int64_t g, int64_t j0, int64_t n, std::vector<float>& tile,
                     int64_t& ld) {
  const int64_t ldk = cx.n_kv_heads * cx.d, offset = j0 * ldk + g * cx.d;
  if (!cx.kv.f16) {
    ld = ldk;
    return static_cast<const float*>(base) + offset;
  }
  cpu::f16_to_f32_rows(static_cast<const uint16_t*>(base) + offset, ldk, tile.data(), cx.d, n, cx.d);
  ld = cx.d;
  return tile.data();
}

// Online-softmax update of rows x cols scores in s (masked entries -inf): s becomes the probabilities relative to the
// new running max, o and l are rescaled.
void online_softmax_update(int64_t rows, int64_t cols, int64_t d, Scratch& w) {
  for (int64_t r = 0; r < rows; ++r) {
    float* s = w.s.data() + r * cols;
    float mx = kNegInf;
#pragma omp simd reduction(max : mx)
    for (int64_t c = 0; c < cols; ++c) mx = max_blend(mx, s[c]);
    if (mx == kNegInf) {  // nothing allowed in this tile for this row
      std::fill(s, s + cols, 0.0f);
      continue;
    }
    const float m_new = std::max(w.m[r], mx);
    const float alpha = exp_nonpositive(w.m[r] - m_new);
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t c = 0; c < cols; ++c) {
      s[c] = exp_nonpositive(s[c] - m_new);
      sum += s[c];
    }
    w.l[r] = w.l[r] * alpha + sum;
    w.m[r] = m_new;
    if (alpha != 1.0f) {
      float* o = w.o.data() + r * d;
#pragma omp simd
      for (int64_t e = 0; e < d; ++e) o[e] *= alpha;
    }
  }
}

// Query positions [p0, p1) of head h against the KV blocks of its list. Returns false if a row had no allowed key.
bool attend_rows(const PrefillCtx& cx, int64_t h, int64_t p0, int64_t p1, std::span<const int32_t> kv_blocks,
                 Scratch& w) {
  const AttentionPlan& plan = *cx.plan;
  const int64_t rows = p1 - p0, d = cx.d, ldq = cx.n_heads * d, g = h / cx.group;
  const float* q = cx.q + ((p0 - cx.q_pos0) * cx.n_heads + h) * d;
  std::fill(w.m.begin(), w.m.begin() + rows, kNegInf);
  std::fill(w.l.begin(), w.l.begin() + rows, 0.0f);
  std::fill(w.o.begin(), w.o.begin() + rows * d, 0.0f);
  for (const int32_t kb : kv_blocks) {
    const int64_t j_begin = int64_t{kb} * plan.block;
    const int64_t j_end = std::min({j_begin + plan.block, cx.n_kv, p1});  // p1: no key past the last query
    for (int64_t j0 = j_begin; j0 < j_end; j0 += cx.kv_tile) {
      const int64_t cols = std::min(cx.kv_tile, j_end - j0);
      int64_t ldk = 0, ldv = 0;
      const float* k = kv_rows(cx, cx.kv.k, g, j0, cols, w.k, ldk);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows), static_cast<int>(cols),
                  static_cast<int>(d), cx.scale, q, static_cast<int>(ldq), k, static_cast<int>(ldk), 0.0f,
                  w.s.data(), static_cast<int>(cols));
      mask_tile(plan, cx.n_kv, p0, rows, j0, cols, w.s.data());
      online_softmax_update(rows, cols, d, w);
      const float* v = kv_rows(cx, cx.kv.v, g, j0, cols, w.v, ldv);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows), static_cast<int>(d),
                  static_cast<int>(cols), 1.0f, w.s.data(), static_cast<int>(cols), v, static_cast<int>(ldv), 1.0f,
                  w.o.data(), static_cast<int>(d));
    }
  }
  bool ok = true;
  for (int64_t r = 0; r < rows; ++r) {
    ok = ok && w.l[r] > 0.0f;
    const float inv = 1.0f / w.l[r];
    float* dst = cx.out + ((p0 - cx.q_pos0 + r) * cx.n_heads + h) * d;
    for (int64_t e = 0; e < d; ++e) dst[e] = w.o[r * d + e] * inv;
  }
  return ok;
}

void check_lists(const AttentionPlan& plan, const BlockLists& lists, int n_heads, int64_t q_end) {
  require(lists.block == plan.block, "attention prefill: block lists use block {}, the plan {}", lists.block,
          plan.block);
  require(lists.n_heads == 1 || lists.n_heads == n_heads, "attention prefill: block lists for {} heads, need 1 or {}",
          lists.n_heads, n_heads);
  require(int64_t{lists.n_q_blocks} >= ceil_div(q_end, plan.block),
          "attention prefill: block lists cover {} query blocks, queries reach position {}", lists.n_q_blocks, q_end);
  require(lists.offsets.size() == static_cast<std::size_t>(lists.n_heads) * lists.n_q_blocks + 1 &&
              lists.offsets.front() == 0 && static_cast<std::size_t>(lists.offsets.back()) == lists.kv_blocks.size(),
          "attention prefill: malformed block lists (offsets)");
  for (const int32_t kb : lists.kv_blocks) {
    require(kb >= 0 && kb < lists.n_kv_blocks, "attention prefill: KV block {} out of range [0, {})", kb,
            lists.n_kv_blocks);
  }
}

void check_heads(const char* what, int n_heads, int n_kv_heads, int head_dim) {
  require(n_heads >= 1 && n_kv_heads >= 1 && n_heads % n_kv_heads == 0,
          "{}: {} query heads is not a multiple of {} kv heads", what, n_heads, n_kv_heads);
  require(head_dim >= 1, "{}: head_dim must be >= 1, got {}", what, head_dim);
}

}  // namespace

void attention_prefill_cpu(const float* q, const float* k, const float* v, int64_t n_q, int64_t q_pos0, int64_t n_kv,
                           int n_heads, int n_kv_heads, int head_dim, const AttentionPlan& plan,
                           const BlockLists& lists, float* out) {
  attention_prefill_cpu(q, KvRows{k, v, false}, n_q, q_pos0, n_kv, n_heads, n_kv_heads, head_dim, plan, lists, out);
}

void attention_prefill_cpu(const float* q, const KvRows& kv, int64_t n_q, int64_t q_pos0, int64_t n_kv, int n_heads,
                           int n_kv_heads, int head_dim, const AttentionPlan& plan, const BlockLists& lists,
                           float* out) {
  validate(plan);
  check_heads("attention prefill", n_heads, n_kv_heads, head_dim);
  require(n_q >= 0 && q_pos0 >= 0 && n_kv >= q_pos0 + n_q,
          "attention prefill: queries [{}, {}) need keys up to there, have {}", q_pos0, q_pos0 + n_q, n_kv);
  check_lists(plan, lists, n_heads, q_pos0 + n_q);
  if (n_q == 0) return;

  PrefillCtx cx{};
  cx.q = q, cx.kv = kv, cx.out = out;
  cx.q_pos0 = q_pos0, cx.n_kv = n_kv;
  cx.n_heads = n_heads, cx.n_kv_heads = n_kv_heads, cx.d = head_dim, cx.group = n_heads / n_kv_heads;
  cx.q_tile = std::clamp<int64_t>(4096 / head_dim, 1, 64);
  cx.kv_tile = std::max<int64_t>(1, kSerialGemmMacs / (cx.q_tile * head_dim));
  cx.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  cx.plan = &plan;

  const int64_t qb_lo = q_pos0 / plan.block, qb_hi = ceil_div(q_pos0 + n_q, plan.block), n_qb = qb_hi - qb_lo;
  std::atomic<bool> ok{true};
#pragma omp parallel
  {
    Scratch w;
    w.s.resize(static_cast<std::size_t>(cx.q_tile * cx.kv_tile));
    w.o.resize(static_cast<std::size_t>(cx.q_tile * head_dim));
    w.m.resize(static_cast<std::size_t>(cx.q_tile));
    w.l.resize(static_cast<std::size_t>(cx.q_tile));
    if (kv.f16) {
      w.k.resize(static_cast<std::size_t>(cx.kv_tile * head_dim));
      w.v.resize(static_cast<std::size_t>(cx.kv_tile * head_dim));
    }
    // Latest query blocks (the longest lists) first, so the dynamic schedule ends balanced.
#pragma omp for schedule(dynamic)
    for (int64_t task = 0; task < n_qb * n_heads; ++task) {
      const int64_t h = task % n_heads, qb = qb_hi - 1 - task / n_heads;
      const int64_t p_begin = std::max(qb * plan.block, q_pos0);
      const int64_t p_end = std::min((qb + 1) * plan.block, q_pos0 + n_q);
      const std::span<const int32_t> row = lists.row(static_cast<int>(h), static_cast<int>(qb));
      for (int64_t p0 = p_begin; p0 < p_end; p0 += cx.q_tile) {
        if (!attend_rows(cx, h, p0, std::min(p0 + cx.q_tile, p_end), row, w)) ok.store(false);
      }
    }
  }
  // With a causal mask over correct lists a query always sees its own key: what remains is a softmax whose scores
  // were NaN, from non-finite queries or keys (weights holding NaN/Inf).
  require(ok.load(),
          "attention prefill: a query row's softmax is empty or not finite (NaN/Inf queries or keys: the model's "
          "weights hold non-finite values)");
}

BlockLists plan_block_lists(const AttentionPlan& plan, const float* q, const float* k, int64_t n_tokens, int n_heads,
                            int n_kv_heads, int head_dim) {
  if (plan.mode == AttentionMode::XAttention) {
    return xattention_select(q, k, n_tokens, n_heads, n_kv_heads, head_dim, plan);
  }
  return build_block_lists(plan, n_tokens);
}

}  // namespace flux::engine
