// The split-KV bookkeeping shared by the decode stage-1 kernels (attention_decode.cu, attention_decode_mma.cuh) and
// the combine: how the live rows are cut into splits, the scratch row each (query head, split) writes, the merge
// of a block's per-warp softmax states into that row, and the combine done by a grid row's last block (fused form).
#pragma once

#include <cstdint>

#include <cuda_bf16.h>

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

// The combine of query heads h0 .. h0 + n_heads - 1 over their `used` splits inside a stage-1 block (the fused form,
// DecodeArgs::split_counters): one warp per head, lanes over float4 columns and, for D < 128, slices of the splits.
// Scratch rows are read with __ldcg (L2): other blocks of this launch wrote them.
template <int D>
__device__ void combine_heads(const DecodeArgs& a, const float* scratch, int64_t n_splits, int64_t used, int h0,
                              int n_heads) {
  constexpr int kCols4 = D / 4, kSlices = 32 / kCols4, kRow = kScratchRow<D>;
  const int warp = static_cast<int>(threadIdx.x / 32), lane = static_cast<int>(threadIdx.x % 32);
  const int c4 = lane % kCols4, slice = lane / kCols4;
  for (int g = warp; g < n_heads; g += static_cast<int>(blockDim.x / 32)) {
    const int h = h0 + g;
    const float* base = scratch + int64_t{h} * n_splits * kRow;
    float mx = -INFINITY;
    for (int64_t s = lane; s < used; s += 32) mx = fmaxf(mx, __ldcg(base + s * kRow));
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
    float total = 0.0f;
    for (int64_t s = lane; s < used; s += 32)
      total += __ldcg(base + s * kRow + 1) * rescale(__ldcg(base + s * kRow), mx);
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) total += __shfl_xor_sync(0xffffffffu, total, off);
    float4 sum = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll 4
    for (int64_t s = slice; s < used; s += kSlices) {
      const float w = rescale(__ldcg(base + s * kRow), mx);
      const float4 x = __ldcg(reinterpret_cast<const float4*>(base + s * kRow + 4 + 4 * c4));
      sum.x += w * x.x, sum.y += w * x.y, sum.z += w * x.z, sum.w += w * x.w;
    }
#pragma unroll
    for (int off = kCols4; off < 32; off <<= 1) {
      sum.x += __shfl_xor_sync(0xffffffffu, sum.x, off);
      sum.y += __shfl_xor_sync(0xffffffffu, sum.y, off);
      sum.z += __shfl_xor_sync(0xffffffffu, sum.z, off);
      sum.w += __shfl_xor_sync(0xffffffffu, sum.w, off);
    }
    if (slice != 0) continue;
    const float inv = total > 0.0f ? 1.0f / total : 0.0f;  // no rows read (block streaming): zeros, as the reference
    bf16* out = a.out + int64_t{h} * D + 4 * c4;
    out[0] = __float2bfloat16(sum.x * inv);
    out[1] = __float2bfloat16(sum.y * inv);
    out[2] = __float2bfloat16(sum.z * inv);
    out[3] = __float2bfloat16(sum.w * inv);
  }
}

// After write_split_state, in every used split's block of a grid row: the last block to finish combines the row's
// heads (threadFenceReduction's pattern: each thread's scratch writes fenced before the block counts) and puts the
// row's counter back to 0, so the next launch (or graph replay) starts from 0 with no reset kernel.
template <int D>
__device__ void combine_if_last(const DecodeArgs& a, const float* scratch, int64_t n_splits, int64_t used, int h0,
                                int n_heads) {
  __shared__ bool s_last;
  unsigned* counter = a.split_counters + blockIdx.y;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    s_last = atomicAdd(counter, 1u) + 1 == static_cast<unsigned>(used);
    if (s_last) *counter = 0;  // every block of the row has counted
  }
  __syncthreads();
  if (!s_last) return;
  __threadfence();
  combine_heads<D>(a, scratch, n_splits, used, h0, n_heads);
}

// A block past the used splits: with none used (no rows read), split 0 still writes the heads' zeros.
template <int D>
__device__ void combine_if_unused(const DecodeArgs& a, const float* scratch, int64_t n_splits, int64_t used,
                                  int64_t split, int h0, int n_heads) {
  if (a.split_counters != nullptr && used == 0 && split == 0) combine_heads<D>(a, scratch, n_splits, 0, h0, n_heads);
}

}  // namespace decode_split
}  // namespace flux::kernels
