// The split-KV bookkeeping shared by the decode stage-1 kernels (attention_decode.cu, attention_decode_mma.cuh) and
// the combine: how the live rows are cut into splits, the scratch row each (query head, split) writes, and the merge
// of a block's per-warp softmax states into that row.
#pragma once

#include <cstdint>

#include "kernels/launch.h"

namespace flux::kernels {
namespace decode_split {

// The shortest split. Short caches get splits of this size (enough blocks to fill the GPU at 8K).
constexpr int64_t kMinKeys = 256;

// Scratch row per (query head, split): [max, sum, pad, pad, acc[D]], 16-byte aligned for float4 reads.
template <int D>
constexpr int kScratchRow = D + 4;

// Most splits a cache of n_slots rows can have (sizes the scratch).
__host__ __device__ inline int64_t max_splits(int64_t n_slots) {
  return (n_slots + kMinKeys - 1) / kMinKeys;
}

// The rows a step reads, read when the kernel runs: the live row j is cache row reads.row(j) (one hole for a
// block-streaming layer, none otherwise).
__device__ inline engine::KvReads live_reads(const DecodeArgs& a) {
  return a.pos != nullptr ? a.layout.reads_at(*a.pos) : engine::KvReads{a.n_slots, a.n_slots, 0};
}

// Rows per split and splits in use, decided when the kernel runs from the live rows: at least kMinKeys rows, and at
// most `target` splits per grid row (a long cache gives each block a long range, so its prologue and state merge are
// paid once per ~2K rows instead of per 256). `used` <= target and <= max_splits(live) by construction, so a grid of
// min(max_splits(n_slots), target) splits covers every step of a recorded launch.
struct Splits {
  int64_t keys = kMinKeys, used = 0;
};
__device__ inline Splits splits_for(int64_t live, int64_t target) {
  int64_t keys = (live + target - 1) / target;
  keys = max(kMinKeys, (keys + 63) / 64 * 64);
  return {keys, (live + keys - 1) / keys};
}

// exp(m_old - m_new), with an empty state (m_old = -inf) weighing nothing.
__device__ inline float rescale(float m_old, float m_new) {
  return m_old == -INFINITY ? 0.0f : __expf(m_old - m_new);
}

// After a __syncthreads: merges the kWarps per-warp states (natural-log max, sum, acc[D]) of query heads h0 .. h0 +
// n_heads - 1 into their scratch rows for `split` (n_splits rows per head).
template <int D, int kWarps, int kHeads>
__device__ void write_split_state(const float (&s_m)[kWarps][kHeads], const float (&s_l)[kWarps][kHeads],
                                  const float (&s_acc)[kWarps][kHeads][D], int n_heads, int h0, int64_t split,
                                  int64_t n_splits, float* scratch) {
  for (int idx = threadIdx.x; idx < n_heads * D; idx += blockDim.x) {
    const int g = idx / D, e = idx % D;
    float mx = -INFINITY;
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, s_m[w][g]);
    float sum = 0.0f, total = 0.0f;
    for (int w = 0; w < kWarps; ++w) {
      const float f = rescale(s_m[w][g], mx);
      sum += s_acc[w][g][e] * f;
      total += s_l[w][g] * f;
    }
    float* out = scratch + (int64_t{h0 + g} * n_splits + split) * kScratchRow<D>;
    out[4 + e] = sum;
    if (e == 0) out[0] = mx, out[1] = total;
  }
}

}  // namespace decode_split
}  // namespace flux::kernels
