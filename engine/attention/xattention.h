// XAttention block selection on the CPU (fp32 products, double softmax and sums): antidiagonal block scores from q
// and k, then per-head threshold selection. The reference the GPU scorer and selector are compared to.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/attention/attention_plan.h"

namespace flux::engine {

// Block scores [n_heads, n_blocks, n_blocks], n_blocks = ceil(n_tokens / plan.block); entries past the diagonal are
// 0. q: [n_tokens, n_heads, head_dim], k: [n_tokens, n_kv_heads, head_dim], token-major; query head h reads kv head
// h / (n_heads / n_kv_heads). With S = plan.stride and m = ceil(n_tokens / S) coarse rows/columns (tokens past the
// end read as zero vectors, as the reference's zero padding does):
//   A[a][c] = sum_{r<S} q[a*S + S-1-r] . k[c*S + r] / (sqrt(head_dim) * S)     ("inverse" antidiagonal)
//   P[a][.] = softmax over c <= a of A[a][c]                                      (coarse causal mask)
//   score[qb][kb] = sum of P[a][c] over a in query block qb, c in key block kb     (block = plan.block / S coarse)
std::vector<float> xattention_block_scores(const float* q, const float* k, int64_t n_tokens, int n_heads,
                                           int n_kv_heads, int head_dim, const AttentionPlan& plan);

// Per-head selection from scores [n_heads, n_q_blocks, n_kv_blocks] (n_kv_blocks >= n_q_blocks; query block qb's
// diagonal is qb + n_kv_blocks - n_q_blocks). Row rule: KV block 0 and the diagonal are always selected and counted
// first; the other causal blocks follow in descending score (ties: lower index first) and each is selected while the
// cumulative score before it is < threshold * (sum of the row's causal scores), in double. threshold >= 1 selects
// every causal block. Scores past the diagonal are ignored. The result has block = 0: the caller sets the block size.
BlockLists select_blocks_from_scores(const std::vector<float>& scores, int n_heads, int n_q_blocks, int n_kv_blocks,
                                     float threshold);

// Scores then selects: per-head lists (n_heads = query heads) for a prompt of n_tokens tokens.
BlockLists xattention_select(const float* q, const float* k, int64_t n_tokens, int n_heads, int n_kv_heads,
                             int head_dim, const AttentionPlan& plan);

}  // namespace flux::engine
