// Split-KV decode attention (flash-decoding) for grouped-query attention. Stage 1: one block per (KV head, split of
// kKeysPerSplit rows) keeps, for every query head of the KV head's group, the partial softmax state (max, sum,
// acc[D]) over its rows. Each K/V row is loaded once, as 16-byte vectors with D/8 lanes per row, and serves all the
// group's heads: decode reads the cache once per layer instead of once per query head. Stage 2: one block per query
// head combines the splits. fp32 math on bf16 K/V.
//
// With DecodeArgs::pos set, the number of rows comes from the decode step's position on the device and the grid from
// the most rows the cache can hold: splits past the live rows write an empty state, so a recorded launch is valid for
// every step.
#include <cmath>

#include "kernels/bf16_vec.cuh"
#include "kernels/launch.h"

namespace flux::kernels {
namespace {

constexpr int kKeysPerSplit = 256;
constexpr int kWarps = 4;
constexpr int kVec = kBf16PerVec;  // bf16 per lane per row: one 16-byte load

__host__ __device__ int64_t n_splits_for(int64_t n_slots) {
  return (n_slots + kKeysPerSplit - 1) / kKeysPerSplit;
}

__device__ int64_t live_slots(const DecodeArgs& a) {
  return a.pos != nullptr ? a.layout.slots_after(*a.pos) : a.n_slots;
}

__device__ void load_row8(const bf16* p, float (&out)[kVec]) {
  unpack_bf16x8(*reinterpret_cast<const uint4*>(p), out);
}

// exp(m_old - m_new), with an empty state (m_old = -inf) weighing nothing.
__device__ float rescale(float m_old, float m_new) {
  return m_old == -INFINITY ? 0.0f : __expf(m_old - m_new);
}

// Scratch layout per (query head, split): [max, sum, acc[D]]. G: query heads per block (the group, or a slice of it).
template <int D, int G>
__global__ void __launch_bounds__(kWarps * 32)
    decode_partial_kernel(DecodeArgs a, float* scratch, int64_t n_splits, int blocks_per_kv_head) {
  constexpr int kLanes = D / kVec;    // lanes sharing one row
  constexpr int kRows = 32 / kLanes;  // rows one warp reads at once
  __shared__ float s_m[kWarps][G], s_l[kWarps][G];
  __shared__ float s_acc[kWarps][G][D];
  const int group = a.n_heads / a.n_kv_heads;
  const int kv_head = blockIdx.y / blocks_per_kv_head;
  const int g0 = (blockIdx.y % blocks_per_kv_head) * G;
  const int n_g = min(G, group - g0);
  const int h0 = kv_head * group + g0;
  const int64_t split = blockIdx.x;
  const int64_t j_end = min((split + 1) * kKeysPerSplit, live_slots(a));
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
  // The loop bound is uniform per warp (the shuffles need every lane); rows past the end are masked.
  for (int64_t jb = split * kKeysPerSplit + warp * kRows; jb < j_end; jb += kWarps * kRows) {
    const int64_t j = jb + sub;
    const bool valid = j < j_end;
    float k[kVec] = {}, v[kVec] = {};
    if (valid) {
      load_row8(a.k + j * ld + col, k);
      load_row8(a.v + j * ld + col, v);
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
  for (int idx = threadIdx.x; idx < n_g * D; idx += blockDim.x) {
    const int g = idx / D, e = idx % D;
    float mx = -INFINITY;
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, s_m[w][g]);
    float sum = 0.0f, total = 0.0f;
    for (int w = 0; w < kWarps; ++w) {
      const float f = rescale(s_m[w][g], mx);
      sum += s_acc[w][g][e] * f;
      total += s_l[w][g] * f;
    }
    float* out = scratch + (int64_t{h0 + g} * n_splits + split) * (D + 2);
    out[2 + e] = sum;
    if (e == 0) out[0] = mx, out[1] = total;
  }
}

template <int D>
__global__ void decode_combine_kernel(DecodeArgs a, const float* scratch, int64_t n_splits) {
  const int h = blockIdx.x;
  const int64_t used = min(n_splits, n_splits_for(live_slots(a)));  // later splits hold empty states
  const float* base = scratch + int64_t{h} * n_splits * (D + 2);
  float mx = -INFINITY;
  for (int64_t s = 0; s < used; ++s) mx = fmaxf(mx, base[s * (D + 2)]);
  float total = 0.0f;
  for (int64_t s = 0; s < used; ++s) total += base[s * (D + 2) + 1] * rescale(base[s * (D + 2)], mx);
  for (int e = threadIdx.x; e < D; e += blockDim.x) {
    float sum = 0.0f;
    for (int64_t s = 0; s < used; ++s) sum += base[s * (D + 2) + 2 + e] * rescale(base[s * (D + 2)], mx);
    a.out[int64_t{h} * D + e] = __float2bfloat16(sum / total);
  }
}

template <int D, int G>
void launch_decode(const DecodeArgs& a, float* scratch, cudaStream_t stream) {
  const int group = a.n_heads / a.n_kv_heads;
  const int blocks_per_kv_head = (group + G - 1) / G;
  const int64_t n_splits = n_splits_for(a.n_slots);
  const dim3 grid(static_cast<unsigned>(n_splits), static_cast<unsigned>(a.n_kv_heads * blocks_per_kv_head));
  decode_partial_kernel<D, G><<<grid, kWarps * 32, 0, stream>>>(a, scratch, n_splits, blocks_per_kv_head);
  constexpr int kCombineThreads = D < 128 ? D : 128;
  decode_combine_kernel<D><<<a.n_heads, kCombineThreads, 0, stream>>>(a, scratch, n_splits);
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

bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

}  // namespace

int64_t decode_scratch_floats(int64_t n_slots, int n_heads, int head_dim) {
  return n_splits_for(n_slots) * n_heads * (head_dim + 2);
}

bool launch_attention_decode(const DecodeArgs& args, float* scratch, cudaStream_t stream) {
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
      launch_for_group<64>(args, scratch, stream);
      return true;
    case 128:
      launch_for_group<128>(args, scratch, stream);
      return true;
    default:
      return false;
  }
}

}  // namespace flux::kernels
