// Tensor-core block-sparse flash-attention prefill (FlashAttention-2 style) for head dims 64 and 128.
//
// One CTA = W warps = 16·W query rows of one query head, all inside one query block (so they share one CSR list).
// Each warp owns 16 rows: Q fragments stay in registers, S = Q·Kᵀ and O += P·V run on mma.sync m16n8k16 (bf16 in,
// fp32 accumulate), and the online softmax (running max m, sum l, in the exp2 domain) lives in registers: a thread
// holds rows g and g+8 of its warp (g = lane / 4), a quad of lanes shares a row. K/V tiles of kBc keys go through a
// two-stage cp.async ring in shared memory (rows padded by 16 bytes so the 8 row addresses of an ldmatrix hit 8
// different bank groups). The list is walked as runs of consecutive KV blocks, cut into kBc-key tiles and clamped to
// the last query of the CTA (causal) and to n_kv; a tile pays for the element mask only when tile_fully_allowed
// cannot prove it needless (diagonal, partial tiles, streaming edges, triangle rows).
#include <cmath>
#include <cstdint>

#include "kernels/attention_mask.cuh"
#include "kernels/attention_mma.cuh"
#include "kernels/attention_tiles.cuh"
#include "kernels/launch.h"

namespace flux::kernels {
namespace {

constexpr int kBc = 64;  // keys per shared-memory tile

template <int D, int W>
struct MmaConfig {
  static_assert(D == 64 || D == 128, "the tensor-core prefill kernel is instantiated for head dims 64 and 128");
  static_assert(W == 1 || W == 2 || W == 4 || W == 8, "1, 2, 4 or 8 warps per CTA");
  static constexpr int kBr = 16 * W;  // query rows per CTA
  static constexpr int kThreads = 32 * W;
  static constexpr int kStride = D + 8;     // bf16 per shared row: +16 B against ldmatrix bank conflicts
  static constexpr int kChunks = D / 8;     // 16-byte chunks per row
  static constexpr int kKSteps = D / 16;    // k steps of S = Q·Kᵀ
  static constexpr int kONTiles = D / 8;    // n tiles of O
  static constexpr int kSNTiles = kBc / 8;  // n tiles of S
  static constexpr int kQElems = kBr * kStride;
  static constexpr int kKvElems = kBc * kStride;
  static constexpr int kSmemBytes = (kQElems + 4 * kKvElems) * 2;  // Q + 2 stages of K and of V
  static_assert((kStride * 2) % 16 == 0, "shared rows must stay 16-byte aligned for cp.async and ldmatrix");
  static_assert(kBc % 16 == 0 && D % 16 == 0, "tiles are whole mma k steps");
};

template <int D, int W>
__device__ __forceinline__ void load_kv_tile(const PrefillArgs& a, int g, int64_t j0, int cols, bf16* sk, bf16* sv) {
  using C = MmaConfig<D, W>;
  const int64_t ldk = int64_t{a.n_kv_heads} * D;
  for (int idx = threadIdx.x; idx < kBc * C::kChunks; idx += C::kThreads) {
    const int r = idx / C::kChunks, ch = idx % C::kChunks;
    const bool ok = r < cols;
    const int64_t at = ok ? (j0 + r) * ldk + int64_t{g} * D + ch * 8 : 0;
    ptx::cp_async_16(ptx::smem_addr(sk + r * C::kStride + ch * 8), a.k + at, ok);
    ptx::cp_async_16(ptx::smem_addr(sv + r * C::kStride + ch * 8), a.v + at, ok);
  }
}

// Per-warp flash state for 16 query rows: this thread's rows g and g + 8.
template <int D>
struct RowState {
  float o[D / 8][4];
  float m[2] = {-INFINITY, -INFINITY};  // running max, log2 domain
  float l[2] = {0.0f, 0.0f};            // this thread's part of the running sum (quad-reduced at the end)
};

// One kBc-key tile: S = Q·Kᵀ, mask, online softmax update, O += P·V.
template <int D, int W>
__device__ __forceinline__ void attend_tile(const PrefillArgs& a, const uint32_t (&qf)[D / 16][4], const bf16* sk,
                                            const bf16* sv, int64_t i0, int64_t j0, int cols, bool full,
                                            float scale_log2, RowState<D>& st) {
  using C = MmaConfig<D, W>;
  const int lane = threadIdx.x % 32;
  float s[C::kSNTiles][4];
#pragma unroll
  for (int nt = 0; nt < C::kSNTiles; ++nt) s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;

    // B = Kᵀ: matrices (keys n0..+7, d k0..+7), (n0.., k0+8..), (n0+8.., k0..), (n0+8.., k0+8..) give b0/b1 of the
    // n tiles n0 and n0 + 8 (K rows are B columns, so no transpose).
#pragma unroll
  for (int kk = 0; kk < C::kKSteps; ++kk) {
#pragma unroll
    for (int np = 0; np < kBc / 16; ++np) {
      uint32_t b[4];
      const int key = np * 16 + (lane & 7) + ((lane >> 4) << 3);
      const int col = kk * 16 + (((lane >> 3) & 1) << 3);
      ptx::ldmatrix_x4(b, ptx::smem_addr(sk + key * C::kStride + col));
      ptx::mma_bf16_16816(s[2 * np], qf[kk], b[0], b[1]);
      ptx::mma_bf16_16816(s[2 * np + 1], qf[kk], b[2], b[3]);
    }
  }

  const int t = (lane % 4) * 2;
#pragma unroll
  for (int nt = 0; nt < C::kSNTiles; ++nt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float x = s[nt][e] * scale_log2;
      if (!full) {
        const int c = nt * 8 + t + (e & 1);
        const int64_t i = i0 + (e >> 1) * 8;
        if (!(c < cols && mask_allows_dev(a.mask, i, j0 + c))) x = -INFINITY;
      }
      s[nt][e] = x;
    }
  }

  float mx[2] = {st.m[0], st.m[1]};
#pragma unroll
  for (int nt = 0; nt < C::kSNTiles; ++nt) {
    mx[0] = fmaxf(mx[0], fmaxf(s[nt][0], s[nt][1]));
    mx[1] = fmaxf(mx[1], fmaxf(s[nt][2], s[nt][3]));
  }
  float alpha[2], base[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
    base[r] = mx[r] == -INFINITY ? 0.0f : mx[r];  // a row with nothing allowed yet: every p is 2^-inf = 0
    alpha[r] = ptx::exp2_fast(st.m[r] - base[r]);
    st.m[r] = mx[r];
  }
  float sum[2] = {0.0f, 0.0f};
#pragma unroll
  for (int nt = 0; nt < C::kSNTiles; ++nt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      s[nt][e] = ptx::exp2_fast(s[nt][e] - base[e >> 1]);
      sum[e >> 1] += s[nt][e];
    }
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) st.l[r] = st.l[r] * alpha[r] + sum[r];
#pragma unroll
  for (int dt = 0; dt < C::kONTiles; ++dt) {
    st.o[dt][0] *= alpha[0];
    st.o[dt][1] *= alpha[0];
    st.o[dt][2] *= alpha[1];
    st.o[dt][3] *= alpha[1];
  }

  // O += P·V. The S accumulators of n tiles 2kk, 2kk+1 are exactly the A fragment of keys [16kk, 16kk+16):
  // a0 = S[g][t..] of tile 2kk, a1 = S[g+8][t..] of 2kk, a2/a3 the same of tile 2kk+1. B = V (keys × d) is
  // row-major in shared memory, so ldmatrix.trans: matrices (keys k0..+7, d n0..+7), (k0+8.., n0..), (k0.., n0+8..),
  // (k0+8.., n0+8..) give b0/b1 of the d tiles n0 and n0 + 8.
#pragma unroll
  for (int kk = 0; kk < kBc / 16; ++kk) {
    const uint32_t pa[4] = {ptx::pack_bf16x2(s[2 * kk][0], s[2 * kk][1]), ptx::pack_bf16x2(s[2 * kk][2], s[2 * kk][3]),
                            ptx::pack_bf16x2(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                            ptx::pack_bf16x2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
    for (int dp = 0; dp < D / 16; ++dp) {
      uint32_t b[4];
      const int key = kk * 16 + (lane & 7) + (((lane >> 3) & 1) << 3);
      const int col = dp * 16 + ((lane >> 4) << 3);
      ptx::ldmatrix_x4_trans(b, ptx::smem_addr(sv + key * C::kStride + col));
      ptx::mma_bf16_16816(st.o[2 * dp], pa, b[0], b[1]);
      ptx::mma_bf16_16816(st.o[2 * dp + 1], pa, b[2], b[3]);
    }
  }
}

template <int D, int W>
__global__ void __launch_bounds__(32 * W) prefill_mma_kernel(const PrefillArgs a) {
  if (a.gate != nullptr && *a.gate != a.gate_run) return;  // the router chose the other plan
  using C = MmaConfig<D, W>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  bf16* sq = reinterpret_cast<bf16*>(smem_raw);
  bf16* sk = sq + C::kQElems;       // [2][kBc][kStride]
  bf16* sv = sk + 2 * C::kKvElems;  // [2][kBc][kStride]

  const int h = blockIdx.y;
  const int64_t block = a.mask.block;
  const int64_t tiles_per_qb = block / C::kBr;            // the launcher guarantees block % kBr == 0
  const int64_t x = int64_t{gridDim.x} - 1 - blockIdx.x;  // latest query blocks (longest lists) start first
  const int64_t qb = a.q_pos0 / block + x / tiles_per_qb;
  const int64_t p_begin = max(qb * block, a.q_pos0);
  const int64_t p_end = min((qb + 1) * block, a.q_pos0 + a.n_q);
  const int64_t p0 = p_begin + (x % tiles_per_qb) * C::kBr;
  if (p0 >= p_end) return;  // uniform over the CTA
  const int64_t p1 = min(p0 + C::kBr, p_end);
  const int g = h / (a.n_heads / a.n_kv_heads);
  const int64_t ldq = int64_t{a.n_heads} * D;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  for (int idx = threadIdx.x; idx < C::kBr * C::kChunks; idx += C::kThreads) {
    const int r = idx / C::kChunks, ch = idx % C::kChunks;
    const bool ok = p0 + r < p1;
    const int64_t at = ok ? (p0 + r - a.q_pos0) * ldq + int64_t{h} * D + ch * 8 : 0;
    ptx::cp_async_16(ptx::smem_addr(sq + r * C::kStride + ch * 8), a.q + at, ok);
  }

  const int64_t list_row = int64_t{a.list_heads == 1 ? 0 : h} * a.n_q_blocks + qb;
  TileCursor<kBc> cur{a.kv_blocks, a.offsets[list_row], a.offsets[list_row + 1], block, min(a.n_kv, p1)};
  int64_t j0 = 0;
  int cols = 0;
  bool have = cur.take(j0, cols);
  if (have) load_kv_tile<D, W>(a, g, j0, cols, sk, sv);
  ptx::cp_async_commit();  // group: Q + the first tile

  RowState<D> st;
#pragma unroll
  for (int dt = 0; dt < C::kONTiles; ++dt) st.o[dt][0] = st.o[dt][1] = st.o[dt][2] = st.o[dt][3] = 0.0f;
  uint32_t qf[C::kKSteps][4];
  const float scale_log2 = a.scale * 1.4426950408889634f;
  const int64_t i0 = p0 + warp * 16 + lane / 4;  // this thread's rows: i0 and i0 + 8
  bool q_ready = false;
  int stage = 0;
  while (have) {
    int64_t nj0 = 0;
    int ncols = 0;
    const bool have_next = cur.take(nj0, ncols);
    // The other stage was last read in the previous iteration, which ended with a barrier.
    if (have_next) load_kv_tile<D, W>(a, g, nj0, ncols, sk + (stage ^ 1) * C::kKvElems, sv + (stage ^ 1) * C::kKvElems);
    ptx::cp_async_commit();  // possibly empty: keeps "all but the newest group" meaning "this tile"
    ptx::cp_async_wait<1>();
    __syncthreads();
    if (!q_ready) {  // A fragments of this warp's 16 rows: matrices (rows 0-7 | 8-15) x (d k0.. | k0+8..)
#pragma unroll
      for (int kk = 0; kk < C::kKSteps; ++kk) {
        const int row = warp * 16 + (lane & 15);
        ptx::ldmatrix_x4(qf[kk], ptx::smem_addr(sq + row * C::kStride + kk * 16 + ((lane >> 4) << 3)));
      }
      q_ready = true;
    }
    const bool full = cols == kBc && tile_fully_allowed(a.mask, p0, p1, j0, j0 + kBc);
    attend_tile<D, W>(a, qf, sk + stage * C::kKvElems, sv + stage * C::kKvElems, i0, j0, cols, full, scale_log2, st);
    __syncthreads();  // every warp is done with this stage before the next prefetch overwrites it
    stage ^= 1;
    j0 = nj0;
    cols = ncols;
    have = have_next;
  }
  ptx::cp_async_wait<0>();  // nothing may stay in flight at exit (the no-tile case)

  const int t = (lane % 4) * 2;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float l = st.l[r];
    l += __shfl_xor_sync(0xffffffffu, l, 1);
    l += __shfl_xor_sync(0xffffffffu, l, 2);
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;  // a row with no allowed key (impossible for valid lists) is 0
    const int64_t i = i0 + r * 8;
    if (i >= p1) continue;
    bf16* dst = a.out + (i - a.q_pos0) * ldq + int64_t{h} * D + t;
#pragma unroll
    for (int dt = 0; dt < C::kONTiles; ++dt) {
      *reinterpret_cast<__nv_bfloat162*>(dst + dt * 8) =
          __floats2bfloat162_rn(st.o[dt][2 * r] * inv, st.o[dt][2 * r + 1] * inv);
    }
  }
}

template <int D, int W>
void launch_mma(const PrefillArgs& a, cudaStream_t stream) {
  using C = MmaConfig<D, W>;
  static const cudaError_t attr =
      cudaFuncSetAttribute(prefill_mma_kernel<D, W>, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes);
  (void)attr;  // a failure shows up as a launch error, which the caller checks
  const int64_t block = a.mask.block;
  const int64_t qb_lo = a.q_pos0 / block, qb_hi = (a.q_pos0 + a.n_q + block - 1) / block;
  const dim3 grid(static_cast<unsigned>((qb_hi - qb_lo) * (block / C::kBr)), static_cast<unsigned>(a.n_heads));
  prefill_mma_kernel<D, W><<<grid, C::kThreads, C::kSmemBytes, stream>>>(a);
}

template <int D>
bool launch_for_block(const PrefillArgs& a, cudaStream_t stream) {
  const int block = a.mask.block;
  if (block % 128 == 0) {
    launch_mma<D, 8>(a, stream);
  } else if (block % 64 == 0) {
    launch_mma<D, 4>(a, stream);
  } else if (block % 32 == 0) {
    launch_mma<D, 2>(a, stream);
  } else if (block % 16 == 0) {
    launch_mma<D, 1>(a, stream);
  } else {
    return false;
  }
  return true;
}

}  // namespace

bool launch_attention_prefill_mma(const PrefillArgs& a, cudaStream_t stream) {
  if (a.n_q == 0) return true;
  if (!aligned16(a.q) || !aligned16(a.k) || !aligned16(a.v) || !aligned16(a.out)) return false;
  if (a.mask.block < 16 || a.n_heads % a.n_kv_heads != 0) return false;
  switch (a.head_dim) {
    case 64:
      return launch_for_block<64>(a, stream);
    case 128:
      return launch_for_block<128>(a, stream);
    default:
      return false;
  }
}

}  // namespace flux::kernels
