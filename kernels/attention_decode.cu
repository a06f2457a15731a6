// Split-KV decode attention (flash-decoding) for grouped-query attention. Stage 1: one block per (KV head, split of
// the live rows) keeps, for every query head of the KV head's group, the partial softmax state (max, sum, acc[D])
// over its rows; each K/V row is loaded once and serves all the group's heads. Head dims 64/128 with groups of up to
// 8 use the tensor-core stage 1 (attention_decode_mma.cuh; FLUX_DECODE_KERNEL=simt opts out), the others the
// CUDA-core one below (16-byte loads, D/8 lanes per row, the next rows loaded before the current rows' math; a second
// row pair per iteration was measured slower: fewer resident blocks). Stage 2: one block per query head combines the
// splits (thread slices over splits x float4 columns) — or, with DecodeArgs::split_counters (the fused decode), the
// last stage-1 block of each grid row does it in the same launch (attention_decode_split.cuh combine_if_last). fp32 softmax state on bf16 K/V. All three are chained launches
// (kernels/chained_launch.cuh).
//
// With DecodeArgs::pos set, the rows read (KvLayout::reads_at: their number and, for a block-streaming layer, the
// hole between sinks and local blocks) come from the decode step's position on the device, read when the kernels
// run, and so does the split size (attention_decode_split.cuh): the grid is sized for the most splits any
// step can use, blocks past the used splits exit, so one recorded launch is valid for every step.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "kernels/attention_decode_mma.cuh"
#include "kernels/bf16_vec.cuh"
#include "kernels/chained_launch.cuh"
#include "kernels/launch.h"

namespace flux::kernels {
namespace {

using namespace decode_split;

constexpr int kWarps = 4;
constexpr int kVec = kBf16PerVec;  // bf16 per lane per row: one 16-byte load
constexpr int kCombineThreads = 256;

__device__ void load_row8(const bf16* p, float (&out)[kVec]) {
  unpack_bf16x8(*reinterpret_cast<const uint4*>(p), out);
}

// G: query heads per block (the group, or a slice of it).
template <int D, int G>
__global__ void __launch_bounds__(kWarps * 32)
    decode_partial_kernel(DecodeArgs a, float* scratch, int64_t n_splits, int64_t target_splits,
                          int blocks_per_kv_head) {
  constexpr int kLanes = D / kVec;    // lanes sharing one row
  constexpr int kRows = 32 / kLanes;  // rows one warp reads at once
  __shared__ float s_m[kWarps][G], s_l[kWarps][G];
  __shared__ float s_acc[kWarps][G][D];
  const int group = a.n_heads / a.n_kv_heads;
  const int kv_head = blockIdx.y / blocks_per_kv_head;
  const int g0 = (blockIdx.y % blocks_per_kv_head) * G;
  const int n_g = min(G, group - g0);
  const int h0 = kv_head * group + g0;
  chain_start();
  const engine::KvReads reads = live_reads(a);
  const int64_t n_live = reads.rows;
  const Splits splits = splits_for(n_live, target_splits);
  const int64_t split = blockIdx.x;
  if (split >= splits.used) {  // the combine reads only the used splits
    combine_if_unused<D>(a, scratch, n_splits, splits.used, split, h0, n_g);
    return;
  }
  const int64_t j_end = min((split + 1) * splits.keys, n_live);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int sub = lane / kLanes, part = lane % kLanes;
  const int64_t ld = int64_t{a.n_kv_heads} * D;
  const int64_t col = int64_t{kv_head} * D + part * kVec;

  float q[G][kVec], acc[G][kVec], m[G], l[G];
#pragma unroll
  for (int g = 0; g < G; ++g) {
    m[g] = -INFINITY;
    l[g] = 0.0f;
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
      acc[g][e] = 0.0f;
      q[g][e] = g < n_g ? __bfloat162float(a.q[int64_t{h0 + g} * D + part * kVec + e]) * a.scale : 0.0f;
    }
  }
  // The loop bound is uniform per warp (the shuffles need every lane); rows past the end are masked. The next rows'
  // K/V are loaded before this iteration's math, so their latency overlaps it.
  constexpr int64_t kStep = kWarps * kRows;
  int64_t jb = split * splits.keys + warp * kRows;
  float k[kVec] = {}, v[kVec] = {};
  if (jb + sub < j_end) {
    load_row8(a.k + reads.row(jb + sub) * ld + col, k);
    load_row8(a.v + reads.row(jb + sub) * ld + col, v);
  }
  for (; jb < j_end; jb += kStep) {
    const bool valid = jb + sub < j_end;
    const int64_t jn = jb + kStep + sub;
    float kn[kVec] = {}, vn[kVec] = {};
    if (jn < j_end) {
      load_row8(a.k + reads.row(jn) * ld + col, kn);
      load_row8(a.v + reads.row(jn) * ld + col, vn);
    }
#pragma unroll
    for (int g = 0; g < G; ++g) {
      if (g >= n_g) break;  // uniform across the block
      float s = 0.0f;
#pragma unroll
      for (int e = 0; e < kVec; ++e) s += q[g][e] * k[e];
#pragma unroll
      for (int off = kLanes / 2; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
      if (valid) {
        const float m_new = fmaxf(m[g], s);
        const float alpha = rescale(m[g], m_new), p = __expf(s - m_new);
        l[g] = l[g] * alpha + p;
        m[g] = m_new;
#pragma unroll
        for (int e = 0; e < kVec; ++e) acc[g][e] = acc[g][e] * alpha + p * v[e];
      }
    }
#pragma unroll
    for (int e = 0; e < kVec; ++e) k[e] = kn[e], v[e] = vn[e];
  }
  // Merge the rows' lanes of a warp that own the same columns (same `part`, different `sub`).
#pragma unroll
  for (int off = kLanes; off < 32; off <<= 1) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
      const float m_o = __shfl_xor_sync(0xffffffffu, m[g], off);
      const float l_o = __shfl_xor_sync(0xffffffffu, l[g], off);
      const float m_new = fmaxf(m[g], m_o);
      const float a1 = rescale(m[g], m_new), a2 = rescale(m_o, m_new);
      l[g] = l[g] * a1 + l_o * a2;
#pragma unroll
      for (int e = 0; e < kVec; ++e) {
        const float acc_o = __shfl_xor_sync(0xffffffffu, acc[g][e], off);
        acc[g][e] = acc[g][e] * a1 + acc_o * a2;
      }
      m[g] = m_new;
    }
  }
  if (sub == 0) {
#pragma unroll
    for (int g = 0; g < G; ++g) {
      if (part == 0) s_m[warp][g] = m[g], s_l[warp][g] = l[g];
#pragma unroll
      for (int e = 0; e < kVec; ++e) s_acc[warp][g][part * kVec + e] = acc[g][e];
    }
  }
  __syncthreads();
  write_split_state<D, kWarps, G>(s_m, s_l, s_acc, n_g, h0, split, n_splits, scratch);
  if (a.split_counters != nullptr) combine_if_last<D>(a, scratch, n_splits, splits.used, h0, n_g);
}

// Block-wide max or sum of one float per thread (kCombineThreads threads).
template <bool kMax>
__device__ float block_reduce(float x, float* shared) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) {
    const float o = __shfl_xor_sync(0xffffffffu, x, off);
    x = kMax ? fmaxf(x, o) : x + o;
  }
  if (threadIdx.x % 32 == 0) shared[threadIdx.x / 32] = x;
  __syncthreads();
  float r = kMax ? -INFINITY : 0.0f;
  for (int w = 0; w < kCombineThreads / 32; ++w) r = kMax ? fmaxf(r, shared[w]) : r + shared[w];
  __syncthreads();  // shared is reused by the next reduction
  return r;
}

// One block per query head: the max and the weighted sum over splits by block reductions, then kSlices thread slices
// each add every kSlices-th split for one float4 of columns, and the slices are added in shared memory.
template <int D>
__global__ void __launch_bounds__(kCombineThreads)
    decode_combine_kernel(DecodeArgs a, const float* scratch, int64_t n_splits, int64_t target_splits) {
  constexpr int kCols4 = D / 4, kSlices = kCombineThreads / kCols4, kRow = kScratchRow<D>;
  __shared__ float s_red[kCombineThreads / 32];
  __shared__ float4 s_acc[kSlices][kCols4];
  chain_start();
  const int h = blockIdx.x;
  const int64_t used = splits_for(live_reads(a).rows, target_splits).used;
  const float* base = scratch + int64_t{h} * n_splits * kRow;
  float mx = -INFINITY;
  for (int64_t s = threadIdx.x; s < used; s += kCombineThreads) mx = fmaxf(mx, base[s * kRow]);
  mx = block_reduce<true>(mx, s_red);
  float total = 0.0f;
  for (int64_t s = threadIdx.x; s < used; s += kCombineThreads) total += base[s * kRow + 1] * rescale(base[s * kRow], mx);
  total = block_reduce<false>(total, s_red);
  const int c4 = static_cast<int>(threadIdx.x) % kCols4, slice = static_cast<int>(threadIdx.x) / kCols4;
  float4 sum = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll 4
  for (int64_t s = slice; s < used; s += kSlices) {
    const float w = rescale(base[s * kRow], mx);
    const float4 x = *reinterpret_cast<const float4*>(base + s * kRow + 4 + 4 * c4);
    sum.x += w * x.x, sum.y += w * x.y, sum.z += w * x.z, sum.w += w * x.w;
  }
  s_acc[slice][c4] = sum;
  __syncthreads();
  if (slice != 0) return;
  for (int i = 1; i < kSlices; ++i) {
    const float4 x = s_acc[i][c4];
    sum.x += x.x, sum.y += x.y, sum.z += x.z, sum.w += x.w;
  }
  const float inv = total > 0.0f ? 1.0f / total : 0.0f;  // no rows read (block streaming): zeros, as the reference
  bf16* out = a.out + int64_t{h} * D + 4 * c4;
  out[0] = __float2bfloat16(sum.x * inv);
  out[1] = __float2bfloat16(sum.y * inv);
  out[2] = __float2bfloat16(sum.z * inv);
  out[3] = __float2bfloat16(sum.w * inv);
}

// Splits per grid row (KV head, or slice of a group): about kBlocksPerSm blocks on every SM in all (two waves of the
// tensor-core kernel, which fits two 128-thread blocks per SM), and never more than n_slots needs.
constexpr int kBlocksPerSm = 4;

struct SplitGrid {
  int64_t n_splits = 1, target = 1;
};
SplitGrid split_grid(int64_t n_slots, int grid_rows) {
  static const int sms = [] {
    int device = 0, count = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device);
    return count > 0 ? count : 1;
  }();
  SplitGrid grid;
  grid.target = std::max<int64_t>(1, int64_t{kBlocksPerSm} * sms / grid_rows);
  grid.n_splits = std::min(max_splits(n_slots), grid.target);
  return grid;
}

template <int D>
void launch_combine(const DecodeArgs& a, float* scratch, const SplitGrid& grid, cudaStream_t stream) {
  launch_chained(decode_combine_kernel<D>, a.n_heads, kCombineThreads, 0, stream, a, scratch, grid.n_splits,
                 grid.target);
}

// Head dims 64/128 with groups of up to 8 heads: the tensor-core stage 1; else the CUDA-core one.
template <int D>
bool launch_decode_mma(const DecodeArgs& a, float* scratch, cudaStream_t stream) {
  if (a.n_heads / a.n_kv_heads > decode_mma::kMaxGroup) return false;
  const SplitGrid sg = split_grid(a.n_slots, a.n_kv_heads);
  const dim3 grid(static_cast<unsigned>(sg.n_splits), static_cast<unsigned>(a.n_kv_heads));
  launch_chained(decode_mma_kernel<D, kWarps>, grid, kWarps * 32, 0, stream, a, scratch, sg.n_splits, sg.target);
  if (a.split_counters == nullptr) launch_combine<D>(a, scratch, sg, stream);
  return true;
}

template <int D, int G>
void launch_decode(const DecodeArgs& a, float* scratch, cudaStream_t stream) {
  const int group = a.n_heads / a.n_kv_heads;
  const int blocks_per_kv_head = (group + G - 1) / G;
  const SplitGrid sg = split_grid(a.n_slots, a.n_kv_heads * blocks_per_kv_head);
  const dim3 grid(static_cast<unsigned>(sg.n_splits), static_cast<unsigned>(a.n_kv_heads * blocks_per_kv_head));
  launch_chained(decode_partial_kernel<D, G>, grid, kWarps * 32, 0, stream, a, scratch, sg.n_splits, sg.target,
                 blocks_per_kv_head);
  if (a.split_counters == nullptr) launch_combine<D>(a, scratch, sg, stream);
}

template <int D>
void launch_for_group(const DecodeArgs& a, float* scratch, cudaStream_t stream) {
  const int group = a.n_heads / a.n_kv_heads;
  if (group == 1) {
    launch_decode<D, 1>(a, scratch, stream);
  } else if (group <= 4) {
    launch_decode<D, 4>(a, scratch, stream);
  } else {
    launch_decode<D, 8>(a, scratch, stream);
  }
}

}  // namespace

int64_t decode_scratch_floats(int64_t n_slots, int n_heads, int head_dim) {
  return max_splits(n_slots) * n_heads * (head_dim + 4);  // kScratchRow: the most splits any grid uses
}

bool launch_attention_decode(const DecodeArgs& args, float* scratch, cudaStream_t stream) {
  // FLUX_DECODE_KERNEL=simt keeps the CUDA-core stage 1 everywhere (A/B checks and benchmarks).
  static const bool use_mma = [] {
    const char* e = std::getenv("FLUX_DECODE_KERNEL");
    return e == nullptr || std::strcmp(e, "simt") != 0;
  }();
  if (args.n_slots < 1 || args.n_kv_heads < 1 || args.n_heads % args.n_kv_heads != 0 || !aligned16(args.k) ||
      !aligned16(args.v))
    return false;
  switch (args.head_dim) {
    case 16:
      launch_for_group<16>(args, scratch, stream);
      return true;
    case 32:
      launch_for_group<32>(args, scratch, stream);
      return true;
    case 64:
      if (!use_mma || !launch_decode_mma<64>(args, scratch, stream)) launch_for_group<64>(args, scratch, stream);
      return true;
    case 128:
      if (!use_mma || !launch_decode_mma<128>(args, scratch, stream)) launch_for_group<128>(args, scratch, stream);
      return true;
    default:
      return false;
  }
}

}  // namespace flux::kernels
