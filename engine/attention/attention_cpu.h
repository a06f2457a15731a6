// CPU attention, fp32 arithmetic over an fp32 or fp16 cache: block-sparse flash-style prefill over BlockLists and
// decode over KV ranges. The reference the CUDA attention kernels are checked against; OpenMP over heads x query
// blocks, OpenBLAS for the tile products.
#pragma once

#include <cstdint>
#include <span>

#include "engine/attention/attention_plan.h"

namespace flux::engine {

// K and V rows as a cache stores them: fp32, or IEEE fp16 (the CPU cache's default; widened to fp32 inside the loops,
// a tile at a time). Row j of KV head g starts at element (j * n_kv_heads + g) * head_dim.
struct KvRows {
  const void* k = nullptr;
  const void* v = nullptr;
  bool f16 = false;
};

// Prefill: out[r, h] = softmax_j(q[r, h] . k[j, g] / sqrt(head_dim)) . v[j, g] over the allowed keys j of query row r
// (position q_pos0 + r), g = h / (n_heads / n_kv_heads). q, out: [n_q, n_heads, head_dim]; k, v: [n_kv, n_kv_heads,
// head_dim] at positions 0..n_kv-1, n_kv >= q_pos0 + n_q. Only blocks in `lists` (built for n_kv tokens, absolute
// block indices) are read; inside them a key is allowed iff mask_allows(plan, n_kv, i, j) — i.e. causal for Full and
// XAttention. Online (flash) softmax over the listed blocks in ascending order.
void attention_prefill_cpu(const float* q, const float* k, const float* v, int64_t n_q, int64_t q_pos0, int64_t n_kv,
                           int n_heads, int n_kv_heads, int head_dim, const AttentionPlan& plan,
                           const BlockLists& lists, float* out);
void attention_prefill_cpu(const float* q, const KvRows& kv, int64_t n_q, int64_t q_pos0, int64_t n_kv, int n_heads,
                           int n_kv_heads, int head_dim, const AttentionPlan& plan, const BlockLists& lists,
                           float* out);

// The lists a plan executes over a prompt of n_tokens tokens: build_block_lists, or xattention_select for XAttention
// (q and k are only read then; they are the whole prompt's queries and keys).
BlockLists plan_block_lists(const AttentionPlan& plan, const float* q, const float* k, int64_t n_tokens, int n_heads,
                            int n_kv_heads, int head_dim);

// Decode: one query token q [n_heads, head_dim] attends to all n_slots entries of k/v [n_slots, n_kv_heads, head_dim]
// (the caller stores exactly the allowed set); out [n_heads, head_dim].
void attention_decode_cpu(const float* q, const float* k, const float* v, int64_t n_slots, int n_heads,
                          int n_kv_heads, int head_dim, float* out);

// Decode over a full cache: reads only the rows inside `ranges` (ascending, disjoint, e.g. from decode_ranges).
// GQA-aware (each row read once for its group's query heads), split over threads by KV head and chunk of rows
// (attention_decode_cpu.cpp).
void attention_decode_cpu(const float* q, const float* k, const float* v, std::span<const KvRange> ranges,
                          int n_heads, int n_kv_heads, int head_dim, float* out);
void attention_decode_cpu(const float* q, const KvRows& kv, std::span<const KvRange> ranges, int n_heads,
                          int n_kv_heads, int head_dim, float* out);

}  // namespace flux::engine
