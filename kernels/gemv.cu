// Matrix-vector products for decode (x has 1..4 rows): y [n, out] = x [n, in] · Wᵀ with W [out, in] bf16, fp32
// accumulation. One warp per output row streams that row once with 16-byte loads and reuses it for every x row;
// a decode step is bound by reading the weights, and cuBLASLt's M = 1 kernels leave bandwidth unused.
// One launch also serves the fused forms a decode layer needs (fewer, larger kernels per recorded step):
// up to three matrices on the same x (Q, K, V), y += x·Wᵀ (the residual adds), and silu(x·Gᵀ) * (x·Uᵀ) (SwiGLU),
// each optionally on RMSNorm(x) (the layer's norms: every warp sums x's squares as it streams its row and scales the
// dot product at the end, so the norm costs no launch of its own).
#include "kernels/bf16_vec.cuh"
#include "kernels/chained_launch.cuh"
#include "kernels/launch.h"

namespace flux::kernels {
namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kVec = kBf16PerVec;

// Dot products of one weight row with the N rows of x, reduced across the warp (every lane holds the sums). The
// weight words are loaded kDepth at a time, the next group before the current one is used, so each lane keeps
// several 16-byte loads in flight (a dependent load-use loop leaves HBM half idle), and with the streaming hint: a
// step reads each weight once. `w` holds the row's first group on entry (loaded by the caller, possibly before
// chain_start: the weights are never written during a run).
// Measured on the 8B decode step (H100, bench/NOTES.md): 2 words per lane per group, double-buffered, at 6 blocks
// per SM (<= 40 registers) beat 4 words double-buffered at 4 blocks per SM (6.63 vs 6.90 ms at 8K) and every variant
// that spilled to reach 8 blocks. Only the one-row form gets the register cap (the others would spill under it).
constexpr int kDepth = 2;
constexpr int min_blocks_per_sm(int n_rows) {
  return n_rows == 1 ? 6 : 1;
}

__device__ __forceinline__ void load_group(const uint4* __restrict__ wr, int64_t n_vec, int64_t i, uint4 (&w)[kDepth]) {
#pragma unroll
  for (int d = 0; d < kDepth; ++d) w[d] = i + d * 32 < n_vec ? __ldcs(wr + i + d * 32) : make_uint4(0, 0, 0, 0);
}

// Norm: the weight word is multiplied by the norm weight g's word, and each x row's squares are summed as well
// (ss; the warp sees every word of x once per matrix row, so the sums are the rows' whole sums of squares).
template <int N, bool Norm>
__device__ __forceinline__ void accumulate_word(const bf16* __restrict__ x, const bf16* __restrict__ g, int64_t in,
                                                int64_t i, const uint4& w, float* acc, float* ss) {
  float wf[kVec];
  unpack_bf16x8(w, wf);
  if constexpr (Norm) {
    float gf[kVec];
    unpack_bf16x8(__ldg(reinterpret_cast<const uint4*>(g) + i), gf);
#pragma unroll
    for (int e = 0; e < kVec; ++e) wf[e] *= gf[e];
  }
#pragma unroll
  for (int r = 0; r < N; ++r) {
    float xf[kVec];
    unpack_bf16x8(__ldg(reinterpret_cast<const uint4*>(x + r * in + i * kVec)), xf);
#pragma unroll
    for (int e = 0; e < kVec; ++e) {
      acc[r] += wf[e] * xf[e];
      if constexpr (Norm) ss[r] += xf[e] * xf[e];
    }
  }
}

template <int N, bool Norm>
__device__ __forceinline__ void row_dots(const bf16* __restrict__ x, const bf16* __restrict__ g,
                                         const uint4* __restrict__ wr, int64_t in, int lane, uint4 (&w)[kDepth],
                                         float* acc, float* ss) {
  constexpr int64_t kGroupVecs = kDepth * 32;
  const int64_t n_vec = in / kVec;
  for (int64_t i = lane; i < n_vec; i += kGroupVecs) {
    uint4 cur[kDepth];
#pragma unroll
    for (int d = 0; d < kDepth; ++d) cur[d] = w[d];
    if (i + kGroupVecs < n_vec) load_group(wr, n_vec, i + kGroupVecs, w);
#pragma unroll
    for (int d = 0; d < kDepth; ++d)
      if (i + d * 32 < n_vec) accumulate_word<N, Norm>(x, g, in, i + d * 32, cur[d], acc, ss);
  }
#pragma unroll
  for (int r = 0; r < N; ++r) {
    for (int off = 16; off > 0; off >>= 1) acc[r] += __shfl_xor_sync(0xffffffffu, acc[r], off);
    if constexpr (Norm)
      for (int off = 16; off > 0; off >>= 1) ss[r] += __shfl_xor_sync(0xffffffffu, ss[r], off);
  }
}

// One warp per output row. Store / Accumulate: row g of the matrices laid end to end. SwiGLU: row g of W[0] (gate)
// and of W[1] (up), silu(gate) * up written to y[0].
// Norm: on RMSNorm(x) by job.norm, as scale_r · Σ (W∘g)·x_r with scale_r from the sums of squares the warp gathers
// on the way (no pass over x of its own, no block barrier: the norm costs a few FMAs per weight word).
template <int N, GemvEpilogue E, bool Norm>
__global__ void __launch_bounds__(kWarpsPerBlock * 32, min_blocks_per_sm(N))
    gemv_kernel(const bf16* __restrict__ x, GemvJob job, int64_t in) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  int64_t row = blockIdx.x * int64_t{kWarpsPerBlock} + threadIdx.x / 32;
  // The matrix this row falls in, picked by unrolled compares (indexing job's arrays would copy it to local memory).
  const bf16* wm = job.w[0];
  bf16* y = job.y[0];
  int64_t out = job.out[0];
  if constexpr (E != GemvEpilogue::SwiGLU) {
#pragma unroll
    for (int i = 1; i < kMaxGemvMatrices; ++i) {
      if (i < job.count && row >= out) {
        row -= out;
        wm = job.w[i];
        y = job.y[i];
        out = job.out[i];
      }
    }
  }
  if (row >= out) return;
  const int64_t n_vec = in / kVec;
  const uint4* wr = reinterpret_cast<const uint4*>(wm + row * in);
  uint4 w[kDepth];
  load_group(wr, n_vec, lane, w);  // in flight while the previous kernel finishes
  chain_start();
  float acc[E == GemvEpilogue::SwiGLU ? 2 * N : N] = {};
  float ss[N] = {};
  row_dots<N, Norm>(x, job.norm, wr, in, lane, w, acc, ss);
  if constexpr (E == GemvEpilogue::SwiGLU) {
    const uint4* ur = reinterpret_cast<const uint4*>(job.w[1] + row * in);
    load_group(ur, n_vec, lane, w);
    float unused[N] = {};
    row_dots<N, Norm>(x, job.norm, ur, in, lane, w, acc + N, unused);
  }
  if constexpr (Norm) {
#pragma unroll
    for (int r = 0; r < N; ++r) {
      const float scale = 1.0f / sqrtf(ss[r] / static_cast<float>(in) + job.eps);  // launch_rms_norm's formula
      acc[r] *= scale;
      if constexpr (E == GemvEpilogue::SwiGLU) acc[N + r] *= scale;
    }
  }
  if (lane != 0) return;
#pragma unroll
  for (int r = 0; r < N; ++r) {
    float v = acc[r];
    if constexpr (E == GemvEpilogue::SwiGLU) v = v / (1.0f + __expf(-v)) * acc[N + r];
    if constexpr (E == GemvEpilogue::Accumulate) v += __bfloat162float(y[r * out + row]);
    y[r * out + row] = __float2bfloat16(v);
  }
}

template <int N, GemvEpilogue E>
void launch_n(unsigned blocks, const bf16* x, const GemvJob& job, int64_t in, cudaStream_t stream) {
  if (job.norm == nullptr) {
    launch_chained(gemv_kernel<N, E, false>, blocks, kWarpsPerBlock * 32, 0, stream, x, job, in);
  } else {
    launch_chained(gemv_kernel<N, E, true>, blocks, kWarpsPerBlock * 32, 0, stream, x, job, in);
  }
}

template <GemvEpilogue E>
void launch_rows(int64_t n, unsigned blocks, const bf16* x, const GemvJob& job, int64_t in, cudaStream_t stream) {
  switch (n) {
    case 1:
      launch_n<1, E>(blocks, x, job, in, stream);
      break;
    case 2:
      launch_n<2, E>(blocks, x, job, in, stream);
      break;
    case 3:
      launch_n<3, E>(blocks, x, job, in, stream);
      break;
    default:
      launch_n<4, E>(blocks, x, job, in, stream);
      break;
  }
}

}  // namespace

bool launch_gemv(const bf16* x, const GemvJob& job, GemvEpilogue epilogue, int64_t n, int64_t in,
                 cudaStream_t stream) {
  if (n < 1 || n > kMaxGemvRows || in % kVec != 0 || !aligned16(x)) return false;
  if (job.norm != nullptr && !aligned16(job.norm)) return false;
  const int used = epilogue == GemvEpilogue::SwiGLU ? 2 : job.count;
  if (used < 1 || used > kMaxGemvMatrices || (epilogue == GemvEpilogue::SwiGLU && job.out[0] != job.out[1]))
    return false;
  int64_t rows = 0;
  for (int m = 0; m < used; ++m) {
    if (job.out[m] < 1 || !aligned16(job.w[m])) return false;
    rows += job.out[m];
  }
  if (epilogue == GemvEpilogue::SwiGLU) rows = job.out[0];
  const unsigned blocks = static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
  switch (epilogue) {
    case GemvEpilogue::Store:
      launch_rows<GemvEpilogue::Store>(n, blocks, x, job, in, stream);
      break;
    case GemvEpilogue::Accumulate:
      launch_rows<GemvEpilogue::Accumulate>(n, blocks, x, job, in, stream);
      break;
    case GemvEpilogue::SwiGLU:
      launch_rows<GemvEpilogue::SwiGLU>(n, blocks, x, job, in, stream);
      break;
  }
  return true;
}

bool launch_gemv(const bf16* x, const bf16* w, bf16* y, int64_t n, int64_t in, int64_t out, cudaStream_t stream) {
  GemvJob job;
  job.count = 1;
  job.w[0] = w;
  job.y[0] = y;
  job.out[0] = out;
  return launch_gemv(x, job, GemvEpilogue::Store, n, in, stream);
}

}  // namespace flux::kernels
