#include "engine/attention/attention_plan.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <string>

#include "engine/backend/decode_step.h"
#include "engine/core/error.h"

namespace flux::engine {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// The streaming rule for query i, key j <= i, in the plan's form (block or token-exact).
bool streaming_allows(const AttentionPlan& plan, int64_t i, int64_t j) {
  if (plan.token_exact) return j < plan.sink || i - j < plan.window;
  const int64_t b = plan.block;
  return j / b < ceil_div(plan.sink, b) || i / b - j / b < ceil_div(plan.window, b);
}

// Streaming KV blocks of query block qb, ascending: the sink blocks, then the local blocks up to the diagonal.
void append_streaming_row(const AttentionPlan& plan, int64_t qb, std::vector<int32_t>& out) {
  const int64_t b = plan.block;
  const int64_t sink_end = std::min(ceil_div(plan.sink, b), qb + 1);
  // Block form: (qb - local_blocks, qb]. Token-exact: the block holding position qb*b - window + 1, the oldest key
  // the first query of the block can still see, and everything after it.
  const int64_t local_begin = plan.token_exact ? std::max<int64_t>(0, floor_div(qb * b - plan.window + 1, b))
                                               : std::max<int64_t>(0, qb - ceil_div(plan.window, b) + 1);
  for (int64_t kb = 0; kb < sink_end; ++kb) out.push_back(static_cast<int32_t>(kb));
  for (int64_t kb = std::max(local_begin, sink_end); kb <= qb; ++kb) out.push_back(static_cast<int32_t>(kb));
}

}  // namespace

const char* attention_mode_name(AttentionMode mode) {
  switch (mode) {
    case AttentionMode::Full: return "full";
    case AttentionMode::Streaming: return "streaming";
    case AttentionMode::Triangle: return "triangle";
    case AttentionMode::XAttention: return "xattn";
  }
  return "unknown";
}

AttentionMode parse_attention_mode(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "full" || lower == "fa") return AttentionMode::Full;
  if (lower == "streaming") return AttentionMode::Streaming;
  if (lower == "triangle") return AttentionMode::Triangle;
  if (lower == "xattn" || lower == "xattention") return AttentionMode::XAttention;
  fail("attention mode '{}': expected full, streaming, triangle or xattn", text);
}

const char* decode_mode_name(DecodeMode mode) {
  return mode == DecodeMode::Reference ? "reference" : "fluxscope";
}

DecodeMode parse_decode_mode(std::string_view text) {
  if (text == "reference") return DecodeMode::Reference;
  if (text == "fluxscope") return DecodeMode::FluxScope;
  fail("decode mode '{}': expected reference or fluxscope", text);
}

void validate(const AttentionPlan& plan) {
  require(plan.block >= 1, "attention plan: block must be >= 1, got {}", plan.block);
  require(plan.stride >= 1, "attention plan: stride must be >= 1, got {}", plan.stride);
  require(plan.block % plan.stride == 0, "attention plan: block ({}) must be a multiple of stride ({})", plan.block,
          plan.stride);
  require(plan.window >= 1, "attention plan: window must be >= 1, got {}", plan.window);
  require(plan.sink >= 0, "attention plan: sink must be >= 0, got {}", plan.sink);
  require(plan.n_last >= 0, "attention plan: n_last must be >= 0, got {}", plan.n_last);
  require(std::isfinite(plan.threshold) && plan.threshold > 0.0f && plan.threshold <= 1.0f,
          "attention plan: threshold must be in (0, 1], got {}", plan.threshold);
}

bool mask_allows(const AttentionPlan& plan, int64_t n_tokens, int64_t i, int64_t j) {
  if (j > i || j < 0) return false;
  switch (plan.mode) {
    case AttentionMode::Full:
    case AttentionMode::XAttention: return true;
    case AttentionMode::Streaming: return streaming_allows(plan, i, j);
    case AttentionMode::Triangle: return i >= n_tokens - plan.n_last || streaming_allows(plan, i, j);
  }
  return false;
}

std::span<const int32_t> BlockLists::row(int head, int q_block) const {
  const std::size_t r = static_cast<std::size_t>(n_heads == 1 ? 0 : head) * n_q_blocks + q_block;
  return {kv_blocks.data() + offsets[r], static_cast<std::size_t>(offsets[r + 1] - offsets[r])};
}

double BlockLists::density() const {
  const int64_t diag_shift = int64_t{n_kv_blocks} - n_q_blocks;
  int64_t causal = 0;
  for (int64_t qb = 0; qb < n_q_blocks; ++qb) causal += std::clamp<int64_t>(qb + diag_shift + 1, 0, n_kv_blocks);
  causal *= n_heads;
  if (causal == 0) return 1.0;
  return static_cast<double>(kv_blocks.size()) / static_cast<double>(causal);
}

BlockLists build_block_lists(const AttentionPlan& plan, int64_t n_tokens) {
  validate(plan);
  require(plan.mode != AttentionMode::XAttention,
          "build_block_lists: XAttention blocks depend on q and k; use xattention_select");
  require(n_tokens >= 0, "build_block_lists: negative token count {}", n_tokens);
  const int64_t n_blocks = ceil_div(n_tokens, plan.block);
  require(n_blocks <= INT32_MAX / 2, "build_block_lists: {} tokens is too many blocks", n_tokens);
  BlockLists lists;
  lists.block = plan.block;
  lists.n_q_blocks = lists.n_kv_blocks = static_cast<int>(n_blocks);
  lists.n_heads = 1;
  lists.offsets.reserve(n_blocks + 1);
  lists.offsets.push_back(0);
  for (int64_t qb = 0; qb < n_blocks; ++qb) {
    const int64_t last_pos = std::min((qb + 1) * plan.block, n_tokens) - 1;
    const bool dense = plan.mode == AttentionMode::Full ||
                       (plan.mode == AttentionMode::Triangle && last_pos >= n_tokens - plan.n_last);
    if (dense) {
      for (int64_t kb = 0; kb <= qb; ++kb) lists.kv_blocks.push_back(static_cast<int32_t>(kb));
    } else {
      append_streaming_row(plan, qb, lists.kv_blocks);
    }
    lists.offsets.push_back(static_cast<int32_t>(lists.kv_blocks.size()));
  }
  return lists;
}

std::vector<KvRange> decode_ranges(const AttentionPlan& plan, int64_t n_ctx) {
  require(n_ctx >= 0, "decode_ranges: negative position {}", n_ctx);
  const int64_t end = n_ctx + 1;
  if (plan.decode == DecodeMode::Reference && plan.mode != AttentionMode::Full) {
    validate(plan);
    const KvReads reads = KvLayout::block_streaming(plan.sink, plan.window, plan.block).reads_at(n_ctx);
    std::vector<KvRange> out;
    if (reads.gap == 0) {
      if (reads.rows > 0) out.push_back(KvRange{0, reads.rows});
      return out;
    }
    if (reads.gap_at > 0) out.push_back(KvRange{0, reads.gap_at});
    if (reads.rows > reads.gap_at) out.push_back(KvRange{reads.gap_at + reads.gap, reads.rows + reads.gap});
    return out;
  }
  if (plan.mode != AttentionMode::Streaming) return {KvRange{0, end}};
  const int64_t sink_end = std::min<int64_t>(plan.sink, end);
  const int64_t local_begin = std::max<int64_t>(0, end - plan.window);
  if (local_begin <= sink_end) return {KvRange{0, end}};
  if (sink_end == 0) return {KvRange{local_begin, end}};
  return {KvRange{0, sink_end}, KvRange{local_begin, end}};
}

}  // namespace flux::engine
