// Hopper (sm_90a) block-sparse flash-attention prefill on warpgroup MMAs, head dims 64 and 128.
//
// One CTA = 2 warpgroups = 128 query rows of one query head inside one query block (so one CSR list), 64 rows per
// warpgroup. K/V tiles of 128 keys arrive by cp.async in the 128-byte-swizzled layout wgmma reads (kernels/wgmma.cuh),
// Q stays in shared memory for the whole CTA. Per tile and warpgroup: S = Q·Kᵀ as m64n128k16 wgmmas from shared
// memory, the online softmax in registers (exp2 domain; rows g and g + 8 of each warp's 16, a quad sharing a row),
// then O += P·V with P straight from the S accumulators (their layout is wgmma's register-A fragment) and V read
// MN-major from shared memory. The softmax of tile n overlaps the P·V wgmmas of tile n - 1 (issued together with S of
// tile n, waited for after the softmax), so the tensor cores are busy while the warps do exp2. K tiles are prefetched
// one ahead at the top of an iteration, V tiles at its end, once both warpgroups are done with the V buffer they reuse.
// The list walk, the causal clamp and the element mask on partial tiles are those of the mma.sync kernel.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "kernels/attention_mask.cuh"
#include "kernels/attention_mma.cuh"
#include "kernels/attention_tiles.cuh"
#include "kernels/launch.h"
#include "kernels/wgmma.cuh"

namespace flux::kernels {
namespace {

constexpr int kBr = 128;  // query rows per CTA (2 warpgroups x 64)
[[maybe_unused]] constexpr int kBc = 128;  // keys per tile (device code only)
constexpr int kThreads = 256;
[[maybe_unused]] constexpr int kPanelBytes = 128 * 128;  // one 64-column panel of a 128-row tile (device code)

template <int D>
struct WgConfig {
  static_assert(D == 64 || D == 128, "the wgmma prefill kernel is instantiated for head dims 64 and 128");
  static constexpr int kTileBytes = 128 * D * 2;  // Q (kBr rows) or one K / V tile (kBc rows)
  static constexpr int kSmemBytes = 5 * kTileBytes + 1024;  // Q, 2 K stages, 2 V stages, 1024-byte alignment slack
};

// Device helpers exist only in the sm_90a pass (the kernel is empty elsewhere and never launched there).
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
// cp.async of 128 rows x D from global (row stride ld elements) into a swizzled tile; rows >= valid are zero-filled.
template <int D>
__device__ __forceinline__ void load_tile(uint32_t dst, const bf16* src, int64_t ld, int64_t valid) {
  constexpr int kChunks = D / 8;
  for (int idx = threadIdx.x; idx < 128 * kChunks; idx += kThreads) {
    const int r = idx / kChunks, c = idx % kChunks;
    const bool ok = r < valid;
    ptx::cp_async_16(dst + wgmma::sw128_offset(128, r, c), ok ? src + r * ld + c * 8 : src, ok);
  }
}

// S = Q·Kᵀ for this warpgroup's 64 rows (q: its first row in the Q tile) against a 128-key tile.
template <int D>
__device__ __forceinline__ void issue_qk(float (&s)[kBc / 2], uint32_t q, uint32_t k) {
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    const uint32_t step = (kk >> 2) * kPanelBytes + (kk & 3) * 32;
    wgmma::Mma<kBc>::ss(s, wgmma::desc_sw128(q + step, 16, 1024), wgmma::desc_sw128(k + step, 16, 1024), kk > 0);
  }
}

// O += P·V: P as 8 k16 register fragments, V (keys x D) MN-major, a k16 step = 16 key rows.
template <int D>
__device__ __forceinline__ void issue_pv(float (&o)[D / 2], const uint32_t (&p)[kBc / 16][4], uint32_t v) {
#pragma unroll
  for (int kk = 0; kk < kBc / 16; ++kk) {
    wgmma::Mma<D>::rs_mn(o, p[kk], wgmma::desc_sw128(v + kk * 16 * 128, kPanelBytes, 1024));
  }
}

// Online-softmax step for this thread's rows i0 and i0 + 8 on one S tile (keys j0.., cols valid): mask where the tile
// is not provably allowed, new running max, s = P = 2^(S - max) in place, l updated; alpha rescales the O so far.
__device__ __forceinline__ void softmax_tile(const PrefillArgs& a, float (&s)[kBc / 2], int64_t i0, int64_t j0,
                                             int cols, bool full, float scale_log2, float (&m)[2], float (&l)[2],
                                             float (&alpha)[2]) {
  const int t = (threadIdx.x % 4) * 2;
#pragma unroll
  for (int nt = 0; nt < kBc / 8; ++nt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      float x = s[4 * nt + e] * scale_log2;
      if (!full) {
        const int c = nt * 8 + t + (e & 1);
        if (!(c < cols && mask_allows_dev(a.mask, i0 + (e >> 1) * 8, j0 + c))) x = -INFINITY;
      }
      s[4 * nt + e] = x;
    }
  }
  float mx[2] = {m[0], m[1]};
#pragma unroll
  for (int nt = 0; nt < kBc / 8; ++nt) {
    mx[0] = fmaxf(mx[0], fmaxf(s[4 * nt], s[4 * nt + 1]));
    mx[1] = fmaxf(mx[1], fmaxf(s[4 * nt + 2], s[4 * nt + 3]));
  }
  float base[2];
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
    mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
    base[r] = mx[r] == -INFINITY ? 0.0f : mx[r];  // nothing allowed yet: every p is 2^-inf = 0
    alpha[r] = ptx::exp2_fast(m[r] - base[r]);
    m[r] = mx[r];
  }
  float sum[2] = {0.0f, 0.0f};
#pragma unroll
  for (int i = 0; i < kBc / 2; ++i) {
    s[i] = ptx::exp2_fast(s[i] - base[(i >> 1) & 1]);
    sum[(i >> 1) & 1] += s[i];
  }
#pragma unroll
  for (int r = 0; r < 2; ++r) l[r] = l[r] * alpha[r] + sum[r];
}

// P as the P·V A fragments. Only once the previous P·V is done: wgmma reads register A operands asynchronously.
__device__ __forceinline__ void pack_p(const float (&s)[kBc / 2], uint32_t (&p)[kBc / 16][4]) {
  // Keys [16kk, 16kk + 16) are the S n-tiles 2kk and 2kk + 1: a0/a1 rows g/g+8 of the first, a2/a3 of the second.
#pragma unroll
  for (int kk = 0; kk < kBc / 16; ++kk) {
    const float* x = &s[8 * kk];
    p[kk][0] = ptx::pack_bf16x2(x[0], x[1]);
    p[kk][1] = ptx::pack_bf16x2(x[2], x[3]);
    p[kk][2] = ptx::pack_bf16x2(x[4], x[5]);
    p[kk][3] = ptx::pack_bf16x2(x[6], x[7]);
  }
}

template <int D>
__device__ __forceinline__ void rescale(float (&o)[D / 2], const float (&alpha)[2]) {
#pragma unroll
  for (int i = 0; i < D / 2; ++i) o[i] *= alpha[(i >> 1) & 1];
}

#endif  // __CUDA_ARCH_FEAT_SM90_ALL

template <int D>
__global__ void __launch_bounds__(kThreads, 1) prefill_wgmma_kernel(const PrefillArgs a) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  using C = WgConfig<D>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const uint32_t sq = (ptx::smem_addr(smem_raw) + 1023u) & ~1023u;
  const uint32_t sk = sq + C::kTileBytes;      // [2] K stages
  const uint32_t sv = sk + 2 * C::kTileBytes;  // [2] V stages

  const int h = blockIdx.y;
  const int64_t block = a.mask.block;
  const int64_t tiles_per_qb = block / kBr;                // the launcher guarantees block % kBr == 0
  const int64_t x = int64_t{gridDim.x} - 1 - blockIdx.x;  // latest query blocks (longest lists) start first
  const int64_t qb = a.q_pos0 / block + x / tiles_per_qb;
  const int64_t p_begin = max(qb * block, a.q_pos0);
  const int64_t p_end = min((qb + 1) * block, a.q_pos0 + a.n_q);
  const int64_t p0 = p_begin + (x % tiles_per_qb) * kBr;
  if (p0 >= p_end) return;  // uniform over the CTA
  const int64_t p1 = min(p0 + kBr, p_end);
  const int g = h / (a.n_heads / a.n_kv_heads);
  const int64_t ldq = int64_t{a.n_heads} * D, ldk = int64_t{a.n_kv_heads} * D;
  const int wg = threadIdx.x / 128, lane = threadIdx.x % 32;
  const int64_t i0 = p0 + wg * 64 + (threadIdx.x / 32 % 4) * 16 + lane / 4;  // this thread's rows: i0, i0 + 8
  const uint32_t sq_wg = sq + wg * 64 * 128;

  load_tile<D>(sq, a.q + (p0 - a.q_pos0) * ldq + int64_t{h} * D, ldq, p1 - p0);
  const int64_t list_row = int64_t{a.list_heads == 1 ? 0 : h} * a.n_q_blocks + qb;
  TileCursor<kBc> cur{a.kv_blocks, a.offsets[list_row], a.offsets[list_row + 1], block, min(a.n_kv, p1)};
  const bf16* kv_head_k = a.k + int64_t{g} * D;
  const bf16* kv_head_v = a.v + int64_t{g} * D;
  int64_t j0 = 0;
  int cols = 0;
  if (!cur.take(j0, cols)) {  // no keys at all (impossible for valid lists): zero rows, like the other kernels
    for (int idx = threadIdx.x; idx < kBr * D; idx += kThreads) {
      const int64_t i = p0 + idx / D;
      if (i < p1) a.out[(i - a.q_pos0) * ldq + int64_t{h} * D + idx % D] = __float2bfloat16(0.0f);
    }
    ptx::cp_async_wait<0>();
    return;
  }
  load_tile<D>(sk, kv_head_k + j0 * ldk, ldk, cols);
  ptx::cp_async_commit();  // group: Q + K0
  load_tile<D>(sv, kv_head_v + j0 * ldk, ldk, cols);
  ptx::cp_async_commit();  // group: V0

  const float scale_log2 = a.scale * 1.4426950408889634f;
  float o[D / 2], s[kBc / 2];
#pragma unroll
  for (int i = 0; i < D / 2; ++i) o[i] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f}, alpha[2];
  uint32_t p[kBc / 16][4];

  // Tile n lives in stage n % 2. At the top of iteration n the newest committed cp.async groups are K_n then V_n, so
  // wait_group 1 completes K_n and everything older (V_{n-1} too). Tile 0 is peeled so that every wgmma is issued
  // outside a branch (a conditional wgmma makes ptxas serialize them all).
  int64_t nj0 = 0;
  int ncols = 0;
  int stage = 0;
  ptx::cp_async_wait<1>();
  __syncthreads();
  bool have_next = cur.take(nj0, ncols);
  if (have_next) load_tile<D>(sk + C::kTileBytes, kv_head_k + nj0 * ldk, ldk, ncols);
  ptx::cp_async_commit();  // K_1 (possibly empty)
  wgmma::fence();
  issue_qk<D>(s, sq_wg, sk);
  wgmma::commit();
  wgmma::wait<0>();
  wgmma::fence_regs(s);
  softmax_tile(a, s, i0, j0, cols, cols == kBc && tile_fully_allowed(a.mask, p0, p1, j0, j0 + kBc), scale_log2, m, l,
               alpha);
  pack_p(s, p);
  if (have_next) load_tile<D>(sv + C::kTileBytes, kv_head_v + nj0 * ldk, ldk, ncols);
  ptx::cp_async_commit();  // V_1 (possibly empty)

  while (have_next) {
    stage ^= 1;
    j0 = nj0;
    cols = ncols;
    ptx::cp_async_wait<1>();
    __syncthreads();  // K_n visible to both warpgroups; tile n - 1's K stage (where K_{n+1} goes) no longer read
    have_next = cur.take(nj0, ncols);
    if (have_next) load_tile<D>(sk + (stage ^ 1) * C::kTileBytes, kv_head_k + nj0 * ldk, ldk, ncols);
    ptx::cp_async_commit();  // K_{n+1} (possibly empty)

    wgmma::fence_regs(s);
    wgmma::fence_regs(o);
    wgmma::fence();
    issue_qk<D>(s, sq_wg, sk + stage * C::kTileBytes);
    wgmma::commit();
    issue_pv<D>(o, p, sv + (stage ^ 1) * C::kTileBytes);  // tile n - 1
    wgmma::commit();
    wgmma::wait<1>();  // S done; P·V may still run under the softmax
    wgmma::fence_regs(s);
    softmax_tile(a, s, i0, j0, cols, cols == kBc && tile_fully_allowed(a.mask, p0, p1, j0, j0 + kBc), scale_log2, m,
                 l, alpha);
    wgmma::wait<0>();  // P·V of tile n - 1 done: its P registers and O are free
    wgmma::fence_regs(o);
    pack_p(s, p);
    rescale<D>(o, alpha);
    __syncthreads();  // both warpgroups are done with V_{n-1}: its stage takes V_{n+1}
    if (have_next) load_tile<D>(sv + (stage ^ 1) * C::kTileBytes, kv_head_v + nj0 * ldk, ldk, ncols);
    ptx::cp_async_commit();  // V_{n+1} (possibly empty)
  }
  ptx::cp_async_wait<0>();  // V of the last tile
  __syncthreads();
  wgmma::fence_regs(o);
  wgmma::fence();
  issue_pv<D>(o, p, sv + stage * C::kTileBytes);
  wgmma::commit();
  wgmma::wait<0>();
  wgmma::fence_regs(o);

  const int t = (lane % 4) * 2;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float sum = l[r];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    const int64_t i = i0 + r * 8;
    if (i >= p1) continue;
    bf16* dst = a.out + (i - a.q_pos0) * ldq + int64_t{h} * D + t;
#pragma unroll
    for (int dt = 0; dt < D / 8; ++dt) {
      *reinterpret_cast<__nv_bfloat162*>(dst + dt * 8) =
          __floats2bfloat162_rn(o[4 * dt + 2 * r] * inv, o[4 * dt + 2 * r + 1] * inv);
    }
  }
#endif
}

template <int D>
void launch_wgmma(const PrefillArgs& a, cudaStream_t stream) {
  using C = WgConfig<D>;
  static const cudaError_t attr =
      cudaFuncSetAttribute(prefill_wgmma_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes);
  (void)attr;  // a failure shows up as a launch error, which the caller checks
  const int64_t block = a.mask.block;
  const int64_t qb_lo = a.q_pos0 / block, qb_hi = (a.q_pos0 + a.n_q + block - 1) / block;
  const dim3 grid(static_cast<unsigned>((qb_hi - qb_lo) * (block / kBr)), static_cast<unsigned>(a.n_heads));
  prefill_wgmma_kernel<D><<<grid, kThreads, C::kSmemBytes, stream>>>(a);
}

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

}  // namespace

bool wgmma_prefill_available() {
#if defined(FLUX_HAVE_SM90A)
  static const bool hopper = [] {
    int dev = 0, major = 0, minor = 0;
    if (cudaGetDevice(&dev) != cudaSuccess) return false;
    if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess) return false;
    if (cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) != cudaSuccess) return false;
    return major == 9 && minor == 0;  // the sm_90a cubin runs on compute capability 9.0 only
  }();
  return hopper;
#else
  return false;
#endif
}

bool launch_attention_prefill_wgmma(const PrefillArgs& a, cudaStream_t stream) {
  if (a.n_q == 0) return true;
  if (!wgmma_prefill_available()) return false;
  if (!aligned16(a.q) || !aligned16(a.k) || !aligned16(a.v) || !aligned16(a.out)) return false;
  if (a.mask.block % kBr != 0 || a.n_heads % a.n_kv_heads != 0) return false;
  switch (a.head_dim) {
    case 64:
      launch_wgmma<64>(a, stream);
      return true;
    case 128:
      launch_wgmma<128>(a, stream);
      return true;
    default:
      return false;
  }
}

}  // namespace flux::kernels
