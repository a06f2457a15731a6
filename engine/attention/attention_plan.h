// What one attention layer computes, as plain data: the mode (FA or an SA kind) and its parameters, the exact
// token-level mask it stands for, the per-query-block KV block lists a block-sparse kernel executes, and decode ranges.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace flux::engine {

enum class AttentionMode { Full, Streaming, Triangle, XAttention };

// "full", "streaming", "triangle", "xattn".
const char* attention_mode_name(AttentionMode mode);
// Accepts (case-insensitively) "full"/"fa", "streaming", "triangle", "xattn"/"xattention"; throws Error otherwise.
AttentionMode parse_attention_mode(std::string_view text);

struct AttentionPlan {
  AttentionMode mode = AttentionMode::Full;
  int block = 128;          // tokens per block (query and key side) of the block lists
  int sink = 128;           // streaming: attention-sink tokens at the start
  int window = 1024;        // streaming: local window (tokens)
  int n_last = 128;         // triangle: the last n_last prompt queries attend densely
  int stride = 16;          // xattn: antidiagonal stride S
  float threshold = 0.9f;   // xattn: cumulative-mass threshold tau
  bool token_exact = false; // streaming part uses j < sink || i - j < window instead of the 128-block form
};

// Throws Error naming the offending field: block, stride, window >= 1; sink, n_last >= 0; block % stride == 0;
// threshold in (0, 1].
void validate(const AttentionPlan& plan);

// The exact token-level semantics of a prompt of n_tokens tokens: may query position i attend key position j?
// Always false for j > i. Full and XAttention: causal only (XAttention's block selection is data-dependent and lives
// in its BlockLists). Streaming, default block form: j / block < ceil(sink / block) or
// i / block - j / block < ceil(window / block); token_exact: j < sink or i - j < window. Triangle: queries
// i >= n_tokens - n_last are dense causal, all others follow the streaming rule (same form).
bool mask_allows(const AttentionPlan& plan, int64_t n_tokens, int64_t i, int64_t j);

// Per-(head, query block) ascending lists of KV blocks, in CSR form. Block indices are absolute: query block qb covers
// positions [qb * block, (qb + 1) * block), same for KV blocks. Row (h, qb) of a causal list never holds a block past
// the diagonal qb + (n_kv_blocks - n_q_blocks).
struct BlockLists {
  int block = 0;
  int n_q_blocks = 0;
  int n_kv_blocks = 0;
  int n_heads = 1;                // 1 = one list shared by all heads
  std::vector<int32_t> offsets;   // n_heads * n_q_blocks + 1
  std::vector<int32_t> kv_blocks; // ascending per row

  // The list of (head, q_block); head is ignored when the lists are shared.
  std::span<const int32_t> row(int head, int q_block) const;
  // Selected blocks / causal blocks over all rows and heads (1.0 for dense causal; 1.0 when there are no rows).
  double density() const;
};

// Lists for Full, Streaming and Triangle (throws for XAttention: it needs q and k, see xattention_select). Each
// listed block holds at least one allowed (i, j) pair and every allowed pair lies in a listed block; blocks that are
// only partly allowed (the diagonal, token-exact window edges, triangle's last-query blocks which list every causal
// block) are masked element-wise by the executor with mask_allows.
BlockLists build_block_lists(const AttentionPlan& plan, int64_t n_tokens);

struct KvRange {
  int64_t begin = 0;
  int64_t end = 0;  // exclusive
};

// Cached positions a decode token at position n_ctx may read (keys 0..n_ctx, its own included), ascending and
// disjoint. Full/Triangle/XAttention: [0, n_ctx + 1). Streaming (token level, whatever the prefill form):
// [0, sink) u [n_ctx + 1 - window, n_ctx + 1), merged when they touch.
std::vector<KvRange> decode_ranges(const AttentionPlan& plan, int64_t n_ctx);

}  // namespace flux::engine
