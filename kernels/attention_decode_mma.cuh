// Tensor-core stage 1 of the split-KV decode, for head dims 64 and 128 and GQA groups of up to 8 query heads
// (included by attention_decode.cu, which owns the splits, the scratch format and the combine).
//
// One warp runs S = Q·Kᵀ and O += P·V on mma.sync m16n8k16 with the group's query heads as the A rows (rows 8-15 are
// zero), 16 keys at a time, straight from global memory with 16-byte loads — no shared-memory staging:
// - inside each k step, d is permuted so that a lane's K fragment words are one contiguous D/4 slice of a key row:
//   lane t owns d in [t·D/4, (t+1)·D/4), k-step kk rows 2t, 2t+1 ↔ d = t·D/4 + 4kk + 0, 1 and rows 2t+8, 2t+9 ↔
//   + 2, 3. Q's A fragments use the same permutation, so S is the plain dot product.
// - O's columns are permuted so that a lane's V words are one contiguous D/8 slice: n-tile j, column g ↔
//   d = g·D/8 + j; they are put back in place when the state is written.
// Four warps of a block take interleaved 16-key chunks of the split and merge their (max, sum, O) in shared memory.
// The next chunk's K rows are loaded while this chunk's P·V runs (the registers of this chunk's K are free by then).
// The running max is kept in the log2 domain and written in natural-log units, as the CUDA-core kernel does.
#pragma once

#include <cstdint>

#include "kernels/attention_decode_split.cuh"
#include "kernels/attention_mma.cuh"
#include "kernels/chained_launch.cuh"
#include "kernels/launch.h"

namespace flux::kernels {
namespace decode_mma {

constexpr int kMaxGroup = 8;

// Word w (compile-time after unrolling) of an array of 16-byte vectors.
template <int N>
__device__ __forceinline__ uint32_t word(const uint4 (&v)[N], int w) {
  const uint4& q = v[w / 4];
  switch (w % 4) {
    case 0:
      return q.x;
    case 1:
      return q.y;
    case 2:
      return q.z;
    default:
      return q.w;
  }
}

template <int N>
__device__ __forceinline__ void load_or_zero(const bf16* p, bool ok, uint4 (&out)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) out[i] = ok ? reinterpret_cast<const uint4*>(p)[i] : make_uint4(0, 0, 0, 0);
}

}  // namespace decode_mma

// Writes, per query head of the block's KV head and per split, the scratch row [max, sum, -, -, acc[D]].
template <int D, int kWarpsPerBlock>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    decode_mma_kernel(DecodeArgs a, float* scratch, int64_t n_splits, int64_t target_splits) {
  using namespace decode_mma;
  using namespace decode_split;
  constexpr int kKVec = D / 32;  // 16-byte K words per lane per key (its D/4 slice)
  constexpr int kVVec = D / 64;  // 16-byte V words per lane per key (its D/8 slice)
  constexpr int kKSteps = D / 16, kDTiles = D / 8;
  __shared__ float s_m[kWarpsPerBlock][kMaxGroup], s_l[kWarpsPerBlock][kMaxGroup];
  __shared__ float s_o[kWarpsPerBlock][kMaxGroup][D];

  chain_start();
  const engine::KvReads reads = live_reads(a);
  const int64_t n_live = reads.rows;
  const Splits splits = splits_for(n_live, target_splits);
  const int64_t split = blockIdx.x;
  const int group = a.n_heads / a.n_kv_heads;
  const int kv_head = blockIdx.y, h0 = kv_head * group;
  if (split >= splits.used) {  // the combine reads only the used splits
    combine_if_unused<D>(a, scratch, n_splits, splits.used, split, h0, group);
    return;
  }
  const int64_t j_end = min((split + 1) * splits.keys, n_live);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int64_t ld = int64_t{a.n_kv_heads} * D;
  const bf16* k_lane = a.k + int64_t{kv_head} * D + t * (D / 4);
  const bf16* v_lane = a.v + int64_t{kv_head} * D + g * (D / 8);

  uint4 q[kKVec];  // row g of A: head h0 + g's D/4 slice (zero past the group)
  load_or_zero(a.q + int64_t{h0 + g} * D + t * (D / 4), g < group, q);
  float o[kDTiles][4];
#pragma unroll
  for (int j = 0; j < kDTiles; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  const float scale_log2 = a.scale * 1.4426950408889634f;

  constexpr int64_t kStride = kWarpsPerBlock * 16;
  uint4 kr[2][kKVec];  // K rows j0 + 8nt + g
  const auto load_k = [&](int64_t j0) {
#pragma unroll
    for (int nt = 0; nt < 2; ++nt) {
      const int64_t key = j0 + 8 * nt + g;
      load_or_zero(k_lane + reads.row(key) * ld, key < j_end, kr[nt]);
    }
  };
  load_k(split * splits.keys + warp * 16);
  for (int64_t j0 = split * splits.keys + warp * 16; j0 < j_end; j0 += kStride) {
    uint4 vr[4][kVVec];  // V rows j0 + 2t + {0, 1, 8, 9}
#pragma unroll
    for (int r = 0; r < 4; ++r) {
      const int64_t key = j0 + 2 * t + (r & 1) + 8 * (r >> 1);
      load_or_zero(v_lane + reads.row(key) * ld, key < j_end, vr[r]);
    }
    float s[2][4] = {};
#pragma unroll
    for (int kk = 0; kk < kKSteps; ++kk) {
      const uint32_t qa[4] = {word(q, 2 * kk), 0u, word(q, 2 * kk + 1), 0u};
#pragma unroll
      for (int nt = 0; nt < 2; ++nt) ptx::mma_bf16_16816(s[nt], qa, word(kr[nt], 2 * kk), word(kr[nt], 2 * kk + 1));
    }
    // Row g's scores: s[nt][0..1] are keys j0 + 8nt + 2t + 0..1 (rows g + 8 are padding).
    float x[4];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      const int nt = i / 2, e = i % 2;
      x[i] = j0 + 8 * nt + 2 * t + e < j_end ? s[nt][e] * scale_log2 : -INFINITY;
    }
    float mx = fmaxf(fmaxf(x[0], x[1]), fmaxf(x[2], x[3]));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    const float m_new = fmaxf(m, mx);  // finite: key j0 is live
    const float alpha = ptx::exp2_fast(m - m_new);
    float p[4], sum = 0.0f;
#pragma unroll
    for (int i = 0; i < 4; ++i) sum += (p[i] = ptx::exp2_fast(x[i] - m_new));
    l = l * alpha + sum;
    m = m_new;
    const uint32_t pa[4] = {ptx::pack_bf16x2(p[0], p[1]), 0u, ptx::pack_bf16x2(p[2], p[3]), 0u};
    load_k(j0 + kStride);  // masked past j_end
#pragma unroll
    for (int j = 0; j < kDTiles; ++j) {
      o[j][0] *= alpha;
      o[j][1] *= alpha;
      const uint32_t sel = (j % 2) ? 0x7632u : 0x5410u;  // the high or low bf16 of word j / 2 of two keys
      const uint32_t b0 = __byte_perm(word(vr[0], j / 2), word(vr[1], j / 2), sel);
      const uint32_t b1 = __byte_perm(word(vr[2], j / 2), word(vr[3], j / 2), sel);
      ptx::mma_bf16_16816(o[j], pa, b0, b1);
    }
  }

  // Warp state of head row g: the quad shares m; l and O's columns are spread over it.
  l += __shfl_xor_sync(0xffffffffu, l, 1);
  l += __shfl_xor_sync(0xffffffffu, l, 2);
  constexpr float kLn2 = 0.6931471805599453f;
  if (t == 0) s_m[warp][g] = m * kLn2, s_l[warp][g] = l;  // g < 8 = kMaxGroup; rows past the group go unread
#pragma unroll
  for (int j = 0; j < kDTiles; ++j) {
    s_o[warp][g][(2 * t) * (D / 8) + j] = o[j][0];
    s_o[warp][g][(2 * t + 1) * (D / 8) + j] = o[j][1];
  }
  __syncthreads();
  write_split_state<D, kWarpsPerBlock, kMaxGroup>(s_m, s_l, s_o, group, h0, split, n_splits, scratch);
  if (a.split_counters != nullptr) combine_if_last<D>(a, scratch, n_splits, splits.used, h0, group);
}

}  // namespace flux::kernels
