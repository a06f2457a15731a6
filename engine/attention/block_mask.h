// The block mask one attention prefill ran, aggregated over heads: per query block, the KV blocks computed and by how
// many heads. What reports store and the app's heatmap draws — block-level, never an n x n token matrix.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/attention/attention_plan.h"

namespace flux::engine {

// CSR over query blocks; block indices are absolute (as in BlockLists), every row causal (no block past the diagonal
// qb + n_kv_blocks - n_q_blocks).
struct BlockMask {
  int block = 0;        // tokens per block
  int n_q_blocks = 0;
  int n_kv_blocks = 0;
  int n_heads = 1;      // the counts are out of this many heads
  std::vector<int32_t> offsets;    // n_q_blocks + 1
  std::vector<int32_t> kv_blocks;  // ascending per row
  std::vector<uint16_t> heads;     // per listed block: how many heads computed it, 1..n_heads

  std::span<const int32_t> row(int q_block) const;
  std::span<const uint16_t> row_heads(int q_block) const;  // heads[] of row(q_block)
  // sum(heads) / (n_heads * causal blocks); equals BlockLists::density() of the lists it aggregates.
  double density() const;
  // Causal cells of query block qb: key blocks [0, causal_end(qb)).
  int causal_end(int q_block) const;

  bool operator==(const BlockMask&) const = default;
};

// Aggregates per-head lists (lists.n_heads == n_heads) or shared lists (lists.n_heads == 1: every block counts
// n_heads). Throws Error for inconsistent lists (a block past the diagonal or out of range, rows not ascending).
BlockMask aggregate_heads(const BlockLists& lists, int n_heads);
// The mask of a static plan (Full, Streaming, Triangle) over n_tokens tokens, from build_block_lists; throws Error for
// XAttention (its selection depends on the data: see LayerReport::block_mask).
BlockMask static_block_mask(const AttentionPlan& plan, int64_t n_tokens, int n_heads);

// JSON: {"block", "n_q_blocks", "n_kv_blocks", "n_heads", "encoding", "counts"}. `counts` is base64 of one count per
// causal cell, row by row (query block qb: key blocks 0 .. causal_end(qb) - 1), 0 = not computed; `encoding` says the
// width: "causal-counts-u8" (n_heads <= 255) or "causal-counts-u16le". A 128K-token layer of 1024 x 1024 blocks is
// 524,800 cells: 699,736 base64 characters (docs/report-schema.md).
nlohmann::json block_mask_to_json(const BlockMask& mask);
// Throws Error on malformed or inconsistent data (missing keys, bad sizes, a count above n_heads, bad base64).
BlockMask block_mask_from_json(const nlohmann::json& j);

}  // namespace flux::engine
