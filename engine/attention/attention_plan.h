// What one attention layer computes, as plain data: the mode (FA or an SA kind) and its parameters, the exact
// token-level mask it stands for, the per-query-block KV block lists a block-sparse kernel executes, and decode ranges.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace flux::engine {

enum class AttentionMode { Full, Streaming, Triangle, XAttention };

// How SA layers decode (ALGORITHMS.md §7b). Reference: what the authors' code does — every SA layer, whatever its
// kind, decodes block-streaming (the ceil(sink/block) sink blocks plus the last ceil(window/block) blocks up to the
// query's own block) over the full cache, nothing evicted. FluxScope: streaming layers keep only sinks + a token
// window (the rest is evicted after prefill), triangle and XAttention layers decode densely.
enum class DecodeMode { FluxScope, Reference };
const char* decode_mode_name(DecodeMode mode);           // "fluxscope" / "reference"
DecodeMode parse_decode_mode(std::string_view text);     // throws Error for anything else

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
  DecodeMode decode = DecodeMode::FluxScope;  // how this layer decodes when it is SA (FA layers always decode dense)
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
// disjoint, merged when they touch. Full: [0, n_ctx + 1) in both decode modes.
// DecodeMode::FluxScope: Triangle/XAttention [0, n_ctx + 1); Streaming (token level, whatever the prefill form)
// [0, sink) u [n_ctx + 1 - window, n_ctx + 1).
// DecodeMode::Reference, every SA kind (block form, whatever token_exact says; B = block, qb = ceil(n_ctx / B)):
// [0, min(ceil(sink/B)·B, n_ctx + 1)) u [(qb + 1 - ceil(window/B))·B, n_ctx + 1) — flash-attn's block streaming
// with q_len 1, whose query block is ceil(n_ctx / B), not n_ctx / B (KvLayout in engine/backend/decode_step.h
// derives it from Block-Sparse-Attention and holds the one definition, host and device). Empty when the set is
// (one local block, no sink, n_ctx not a multiple of B): the reference then outputs zeros.
std::vector<KvRange> decode_ranges(const AttentionPlan& plan, int64_t n_ctx);

}  // namespace flux::engine
