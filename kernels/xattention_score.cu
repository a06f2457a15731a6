// XAttention block scores on the GPU (engine/attention/xattention.h is the spec and the CPU reference):
// 1. xattn_logits_kernel: A[a][c] = Σ_{r<S} q[aS+S-1-r]·k[cS+r] / (√d·S) for one chunk of coarse rows, as a
//    tensor-core GEMM whose k dimension walks (r, d): for each r, 64 gathered Q̃ rows and 64 gathered K̃ rows go to
//    shared memory and 16x8x16 mma.sync tiles accumulate in fp32 (fragment layouts: kernels/attention_mma.cuh).
//    Tiles wholly above the coarse diagonal are skipped; tokens past n read as zeros (the reference's padding).
// 2. xattn_block_scores_kernel: per (head, query block), a row softmax over c <= a in double, summed into the
//    row's KV blocks (each thread owns the blocks kb ≡ tid mod threads, so no atomics), written as float with zeros
//    past the diagonal — the CPU's order of operations, so scores agree to fp32 rounding of the logits.
#include <cmath>
#include <cstdint>

#include "kernels/attention_mma.cuh"
#include "kernels/launch.h"

namespace flux::kernels {
namespace {

constexpr int kTile = 64;  // coarse rows and columns per logits CTA
constexpr int kWarps = 4;  // 16 coarse rows each
constexpr int kScoreThreads = 256;

template <int D>
__global__ void __launch_bounds__(kWarps * 32)
    xattn_logits_kernel(XAttnArgs a, int64_t a_begin, int64_t a_end, int64_t chunk_rows, float* logits) {
  constexpr int kStride = D + 8, kChunks = D / 8;
  static_assert(D % 16 == 0, "whole mma k steps");
  __shared__ __align__(16) bf16 sq[kTile * kStride];
  __shared__ __align__(16) bf16 sk[kTile * kStride];
  const int h = blockIdx.z, g = h / (a.n_heads / a.n_kv_heads);
  const int64_t S = a.stride, m = (a.n + S - 1) / S;
  const int64_t a0 = a_begin + int64_t{blockIdx.y} * kTile, c0 = int64_t{blockIdx.x} * kTile;
  if (a0 >= a_end || c0 > min(a0 + kTile, a_end) - 1) return;  // uniform: past the chunk or above the diagonal
  const int64_t ldq = int64_t{a.n_heads} * D, ldk = int64_t{a.n_kv_heads} * D;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  float acc[kTile / 8][4];
#pragma unroll
  for (int nt = 0; nt < kTile / 8; ++nt) acc[nt][0] = acc[nt][1] = acc[nt][2] = acc[nt][3] = 0.0f;

  for (int64_t r = 0; r < S; ++r) {
    __syncthreads();  // the previous r's tiles are no longer read
    for (int idx = threadIdx.x; idx < kTile * kChunks; idx += kWarps * 32) {
      const int row = idx / kChunks, ch = idx % kChunks;
      const int64_t aq = a0 + row, tq = aq * S + S - 1 - r;  // "inverse": reversed inside the stride group
      uint4 vq = make_uint4(0, 0, 0, 0), vk = make_uint4(0, 0, 0, 0);
      if (aq < a_end && tq < a.n) vq = *reinterpret_cast<const uint4*>(a.q + tq * ldq + int64_t{h} * D + ch * 8);
      const int64_t ck = c0 + row, tk = ck * S + r;
      if (ck < m && tk < a.n) vk = *reinterpret_cast<const uint4*>(a.k + tk * ldk + int64_t{g} * D + ch * 8);
      *reinterpret_cast<uint4*>(sq + row * kStride + ch * 8) = vq;
      *reinterpret_cast<uint4*>(sk + row * kStride + ch * 8) = vk;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      uint32_t af[4];
      ptx::ldmatrix_x4(af, ptx::smem_addr(sq + (warp * 16 + (lane & 15)) * kStride + kk * 16 + ((lane >> 4) << 3)));
#pragma unroll
      for (int np = 0; np < kTile / 16; ++np) {
        uint32_t b[4];
        const int key = np * 16 + (lane & 7) + ((lane >> 4) << 3);
        ptx::ldmatrix_x4(b, ptx::smem_addr(sk + key * kStride + kk * 16 + (((lane >> 3) & 1) << 3)));
        ptx::mma_bf16_16816(acc[2 * np], af, b[0], b[1]);
        ptx::mma_bf16_16816(acc[2 * np + 1], af, b[2], b[3]);
      }
    }
  }

  const int t = (lane % 4) * 2;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int64_t row = a0 + warp * 16 + lane / 4 + half * 8;
    if (row >= a_end) continue;
    float* dst = logits + (int64_t{h} * chunk_rows + (row - a_begin)) * m;
#pragma unroll
    for (int nt = 0; nt < kTile / 8; ++nt) {
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int64_t c = c0 + nt * 8 + t + e;
        if (c <= row && c < m) dst[c] = acc[nt][half * 2 + e] * a.scale;
      }
    }
  }
}

template <typename T, typename Op>
__device__ T block_reduce(T v, T* scratch, Op op) {
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  __syncthreads();  // scratch may still be read by the previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = scratch[0];
  for (int w = 1; w < kScoreThreads / 32; ++w) v = op(v, scratch[w]);
  return v;
}

__global__ void __launch_bounds__(kScoreThreads)
    xattn_block_scores_kernel(XAttnArgs a, int64_t a_begin, int64_t chunk_rows, int64_t qb_begin, const float* logits,
                              float* scores) {
  extern __shared__ double acc[];  // [nb]: this CTA's block sums, slot kb owned by thread kb % kScoreThreads
  __shared__ double dscratch[kScoreThreads / 32];
  __shared__ float fscratch[kScoreThreads / 32];
  const int h = blockIdx.y;
  const int64_t qb = qb_begin + blockIdx.x;
  const int64_t S = a.stride, m = (a.n + S - 1) / S, R = a.block / S, nb = (a.n + a.block - 1) / a.block;
  for (int64_t kb = threadIdx.x; kb < nb; kb += kScoreThreads) acc[kb] = 0.0;
  const int64_t a_hi = min((qb + 1) * R, m);
  for (int64_t ar = qb * R; ar < a_hi; ++ar) {
    const float* row = logits + (int64_t{h} * chunk_rows + (ar - a_begin)) * m;
    float mx = -INFINITY;
    for (int64_t c = threadIdx.x; c <= ar; c += kScoreThreads) mx = fmaxf(mx, row[c]);
    mx = block_reduce(mx, fscratch, [](float x, float y) { return fmaxf(x, y); });
    double sum = 0.0;
    for (int64_t c = threadIdx.x; c <= ar; c += kScoreThreads) sum += exp(static_cast<double>(row[c]) - mx);
    sum = block_reduce(sum, dscratch, [](double x, double y) { return x + y; });
    for (int64_t kb = threadIdx.x; kb <= qb; kb += kScoreThreads) {
      const int64_t c_end = min((kb + 1) * R, ar + 1);
      double s = acc[kb];
      for (int64_t c = kb * R; c < c_end; ++c) s += exp(static_cast<double>(row[c]) - mx) / sum;
      acc[kb] = s;
    }
  }
  float* out = scores + (int64_t{h} * nb + qb) * nb;
  for (int64_t kb = threadIdx.x; kb < nb; kb += kScoreThreads) out[kb] = kb <= qb ? static_cast<float>(acc[kb]) : 0.0f;
}

}  // namespace

int64_t xattn_chunk_rows(const XAttnArgs& a, int64_t max_floats) {
  const int64_t S = a.stride, m = (a.n + S - 1) / S, R = a.block / S;
  const int64_t per_qb = int64_t{a.n_heads} * R * m;  // logits floats per query block of coarse rows
  const int64_t qbs = per_qb > 0 ? max(int64_t{1}, max_floats / per_qb) : 1;
  return min(qbs * R, ((m + R - 1) / R) * R);
}

bool launch_xattn_scores(const XAttnArgs& a, float* logits, int64_t chunk_rows, float* scores, cudaStream_t stream) {
  if (a.n <= 0) return true;
  const int64_t S = a.stride, m = (a.n + S - 1) / S, R = a.block / S, nb = (a.n + a.block - 1) / a.block;
  if (a.block % a.stride != 0 || chunk_rows % R != 0 || nb * 8 > 48 * 1024) return false;
  for (int64_t a_begin = 0; a_begin < m; a_begin += chunk_rows) {
    const int64_t a_end = min(a_begin + chunk_rows, m);
    const dim3 grid(static_cast<unsigned>((a_end + kTile - 1) / kTile),
                    static_cast<unsigned>((a_end - a_begin + kTile - 1) / kTile), static_cast<unsigned>(a.n_heads));
    switch (a.head_dim) {
      case 64:
        xattn_logits_kernel<64><<<grid, kWarps * 32, 0, stream>>>(a, a_begin, a_end, chunk_rows, logits);
        break;
      case 128:
        xattn_logits_kernel<128><<<grid, kWarps * 32, 0, stream>>>(a, a_begin, a_end, chunk_rows, logits);
        break;
      default:
        return false;
    }
    const int64_t qb_begin = a_begin / R, qb_end = (a_end + R - 1) / R;
    const dim3 sgrid(static_cast<unsigned>(qb_end - qb_begin), static_cast<unsigned>(a.n_heads));
    xattn_block_scores_kernel<<<sgrid, kScoreThreads, nb * sizeof(double), stream>>>(a, a_begin, chunk_rows, qb_begin,
                                                                                     logits, scores);
  }
  return true;
}

}  // namespace flux::kernels
