// Hopper (sm_90a) block-sparse flash-attention prefill on warpgroup MMAs, head dims 64 and 128 (FlashAttention-3 style).
//
// One CTA = 128 query rows of one query head inside one query block (so one CSR list) and 3 warpgroups:
// - warpgroup 0 copies: one thread walks the list and issues TMA tile copies (Q once, then K and V tiles of 128 keys,
//   2 stages each) into the 128-byte-swizzled layout wgmma reads (kernels/wgmma.cuh), completing on mbarriers;
// - warpgroups 1 and 2 compute 64 rows each: S = Q·Kᵀ as m64n128k16 wgmmas from shared memory, the online softmax in
//   registers (exp2 domain; rows g and g + 8 of each warp's 16, a quad sharing a row), O += P·V with P straight from the
//   S accumulators (their layout is wgmma's register-A fragment) and V read MN-major. The softmax of tile n overlaps
//   the P·V of tile n - 1 (issued together with S of tile n), and the two warpgroups take turns at issuing (named
//   barriers, "ping-pong"), so one's exp2 work runs under the other's MMAs.
// Registers move from the copy warpgroup to the MMA ones (setmaxnreg). The list walk, the causal clamp and the
// element mask on partial tiles are those of the mma.sync kernel; keys past a tile's valid columns are masked.
#include <cuda.h>
#include <cudaTypedefs.h>

#include <cmath>
#include <cstdint>

#include "kernels/attention_mask.cuh"
#include "kernels/attention_mma.cuh"
#include "kernels/attention_tiles.cuh"
#include "kernels/launch.h"
#include "kernels/tma.cuh"
#include "kernels/wgmma.cuh"

namespace flux::kernels {
namespace {

constexpr int kBr = 128;  // query rows per CTA (2 MMA warpgroups x 64)
[[maybe_unused]] constexpr int kBc = 128;  // keys per tile (device code only)
constexpr int kThreads = 384;              // copy warpgroup + 2 MMA warpgroups
constexpr int kStages = 2;
[[maybe_unused]] constexpr int kPanelBytes = 128 * 128;  // one 64-column panel of a 128-row tile (device code)

template <int D>
struct WgConfig {
  static_assert(D == 64 || D == 128, "the wgmma prefill kernel is instantiated for head dims 64 and 128");
  static constexpr int kTileBytes = 128 * D * 2;  // Q (kBr rows) or one K / V tile (kBc rows)
  // Q, the K and V stages, the mbarriers (Q full; K/V full and empty per stage), each stage's tile (first key, valid
  // keys), 1024-byte alignment slack.
  static constexpr int kBarOffset = (1 + 2 * kStages) * kTileBytes;
  static constexpr int kTileInfoOffset = kBarOffset + (1 + 4 * kStages) * 8;
  static constexpr int kSmemBytes = kTileInfoOffset + 2 * kStages * 4 + 1024;
};

// Device helpers exist only in the sm_90a pass (the kernel is empty elsewhere and never launched there).
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
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

// Online-softmax step for this thread's rows i0 and i0 + 8 on one raw S tile (keys j0.., cols valid): mask where the
// tile is not provably allowed, new running max (log2 domain), s = P = 2^(S·scale - max) in place with one FFMA per
// element, l updated; alpha rescales the O so far.
__device__ __forceinline__ void softmax_tile(const MaskParams& mask, float (&s)[kBc / 2], int64_t i0, int64_t j0,
                                             int cols, bool full, float scale_log2, float (&m)[2], float (&l)[2],
                                             float (&alpha)[2]) {
  if (!full) {
    const int t = (threadIdx.x % 4) * 2;
    const RowMask rows[2] = {row_mask(mask, i0, j0), row_mask(mask, i0 + 8, j0)};
#pragma unroll
    for (int i = 0; i < kBc / 2; ++i) {
      const int c = (i >> 2) * 8 + t + (i & 1);
      if (!(c < cols && rows[(i >> 1) & 1].allows(c))) s[i] = -INFINITY;
    }
  }
  float mx[2] = {-INFINITY, -INFINITY};
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
    const float m_new = fmaxf(m[r], mx[r] * scale_log2);  // scale > 0: the max commutes with it; -inf stays -inf
    base[r] = m_new == -INFINITY ? 0.0f : m_new;          // nothing allowed yet: every p is 2^-inf = 0
    alpha[r] = ptx::exp2_fast(m[r] - base[r]);
    m[r] = m_new;
  }
  float sum[2] = {0.0f, 0.0f};
#pragma unroll
  for (int i = 0; i < kBc / 2; ++i) {
    s[i] = ptx::exp2_fast(fmaf(s[i], scale_log2, -base[(i >> 1) & 1]));
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

// Where tile n of a CTA lives and which phase of its barriers it is.
struct Slot {
  int stage;
  uint32_t parity;
  __device__ explicit Slot(int n) : stage(n % kStages), parity(static_cast<uint32_t>((n / kStages) & 1)) {}
};

struct Maps {
  CUtensorMap q, k, v;  // 2-D [rows, heads * D] bf16, boxes of 128 rows x 64 columns, 128-byte swizzle
};

template <int D>
__global__ void __launch_bounds__(kThreads, 1) prefill_wgmma_kernel(const PrefillArgs a, const __grid_constant__ Maps maps) {
#if defined(__CUDA_ARCH_FEAT_SM90_ALL)
  if (a.gate != nullptr && *a.gate != a.gate_run) return;  // the router chose the other plan
  using C = WgConfig<D>;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  const uint32_t sq = (ptx::smem_addr(smem_raw) + 1023u) & ~1023u;
  const uint32_t sk = sq + C::kTileBytes;            // [kStages] K tiles
  const uint32_t sv = sk + kStages * C::kTileBytes;  // [kStages] V tiles
  const uint32_t q_full = sq + C::kBarOffset;
  const uint32_t k_full = q_full + 8, v_full = k_full + 8 * kStages;  // [kStages] each
  const uint32_t k_empty = v_full + 8 * kStages, v_empty = k_empty + 8 * kStages;

  // Tile n of the list: its first key and valid keys, written by the copy thread before it arms K_n's barrier.
  int* const tile_info = reinterpret_cast<int*>(smem_raw + (sq - ptx::smem_addr(smem_raw)) + C::kTileInfoOffset);

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

  if (threadIdx.x == 0) {
    tma::mbar_init(q_full, 1);
    for (int st = 0; st < kStages; ++st) {
      tma::mbar_init(k_full + 8 * st, 1);
      tma::mbar_init(v_full + 8 * st, 1);
      tma::mbar_init(k_empty + 8 * st, 2 * 128);  // every MMA thread releases
      tma::mbar_init(v_empty + 8 * st, 2 * 128);
    }
    tma::mbar_init_fence();
  }
  __syncthreads();

  const int wg = threadIdx.x / 128;
  if (wg == 0) {  // the copy warpgroup: one thread walks the list and issues every copy
    tma::regs_dec<24>();
    if (threadIdx.x != 0) return;
    const int g = h / (a.n_heads / a.n_kv_heads);
    const int64_t list_row = int64_t{a.list_heads == 1 ? 0 : h} * a.n_q_blocks + qb;
    TileCursor<kBc> cur{a.kv_blocks, a.offsets[list_row], a.offsets[list_row + 1], block, min(a.n_kv, p1)};
    tma::mbar_arrive_expect_tx(q_full, C::kTileBytes);
    for (int pn = 0; pn < D / 64; ++pn) {
      tma::load_2d(sq + pn * kPanelBytes, &maps.q, h * D + pn * 64, static_cast<int>(p0 - a.q_pos0), q_full);
    }
    for (int n = 0;; ++n) {
      const Slot slot(n);
      const uint32_t off = slot.stage * C::kTileBytes;
      int64_t j0 = 0;
      int cols = 0;
      const bool more = cur.take(j0, cols);
      tma::mbar_wait(k_empty + 8 * slot.stage, slot.parity ^ 1u);
      tile_info[2 * slot.stage] = static_cast<int>(j0);
      tile_info[2 * slot.stage + 1] = more ? cols : 0;  // 0 = the list is done
      if (!more) {
        tma::mbar_arrive(k_full + 8 * slot.stage);
        return;
      }
      tma::mbar_arrive_expect_tx(k_full + 8 * slot.stage, C::kTileBytes);
      for (int pn = 0; pn < D / 64; ++pn) {
        tma::load_2d(sk + off + pn * kPanelBytes, &maps.k, g * D + pn * 64, static_cast<int>(j0),
                     k_full + 8 * slot.stage);
      }
      tma::mbar_wait(v_empty + 8 * slot.stage, slot.parity ^ 1u);
      tma::mbar_arrive_expect_tx(v_full + 8 * slot.stage, C::kTileBytes);
      for (int pn = 0; pn < D / 64; ++pn) {
        tma::load_2d(sv + off + pn * kPanelBytes, &maps.v, g * D + pn * 64, static_cast<int>(j0),
                     v_full + 8 * slot.stage);
      }
    }
  }

  // MMA warpgroups 1 and 2 (mw 0 and 1). Turn-taking: mw waits on named barrier 1 + mw before issuing its MMAs and
  // then lets the other go; mw 1 opens mw 0's first turn and mw 0 takes that extra hand-over after the loop.
  // Tile n's S is issued with tile n - 1's P·V; for n = 0 that P·V multiplies P = 0 by the Q tile (a no-op that keeps
  // every wgmma out of branches, which would make ptxas serialize them all).
  tma::regs_inc<240>();
  const int mw = wg - 1, lane = threadIdx.x % 32;
  const int64_t i0 = p0 + mw * 64 + (threadIdx.x / 32 % 4) * 16 + lane / 4;  // this thread's rows: i0, i0 + 8
  const uint32_t sq_mw = sq + mw * 64 * 128;
  const int64_t ldq = int64_t{a.n_heads} * D;
  const float scale_log2 = a.scale * 1.4426950408889634f;
  float o[D / 2], s[kBc / 2];
#pragma unroll
  for (int i = 0; i < D / 2; ++i) o[i] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f}, alpha[2];
  uint32_t p[kBc / 16][4];
#pragma unroll
  for (int kk = 0; kk < kBc / 16; ++kk) p[kk][0] = p[kk][1] = p[kk][2] = p[kk][3] = 0u;
  uint32_t v_prev = sq;
  if (mw == 1) tma::bar_arrive(1, 2 * 128);
  tma::mbar_wait(q_full, 0);  // also when there is no tile: the Q copy must land before the CTA exits

  int n = 0;
  for (;; ++n) {
    const Slot slot(n), prev(n - 1 < 0 ? 0 : n - 1);
    tma::mbar_wait(k_full + 8 * slot.stage, slot.parity);
    const int64_t j0 = tile_info[2 * slot.stage];
    const int cols = tile_info[2 * slot.stage + 1];
    if (cols == 0) break;
    if (n > 0) tma::mbar_wait(v_full + 8 * prev.stage, prev.parity);
    tma::bar_sync(1 + mw, 2 * 128);
    wgmma::fence_regs(s);
    wgmma::fence_regs(o);
    wgmma::fence();
    issue_qk<D>(s, sq_mw, sk + slot.stage * C::kTileBytes);
    wgmma::commit();
    issue_pv<D>(o, p, v_prev);
    wgmma::commit();
    tma::bar_arrive(2 - mw, 2 * 128);
    wgmma::wait<1>();  // S done; P·V may still run under the softmax
    wgmma::fence_regs(s);
    tma::mbar_arrive(k_empty + 8 * slot.stage);
    softmax_tile(a.mask, s, i0, j0, cols, cols == kBc && tile_fully_allowed(a.mask, p0, p1, j0, j0 + kBc),
                 scale_log2, m, l, alpha);
    wgmma::wait<0>();  // P·V of tile n - 1 done: its V stage, P registers and O are free
    wgmma::fence_regs(o);
    if (n > 0) tma::mbar_arrive(v_empty + 8 * prev.stage);
    pack_p(s, p);
    rescale<D>(o, alpha);
    v_prev = sv + slot.stage * C::kTileBytes;
  }
  if (mw == 0) tma::bar_sync(1, 2 * 128);
  if (n > 0) {
    const Slot last(n - 1);
    tma::mbar_wait(v_full + 8 * last.stage, last.parity);
  }
  wgmma::fence_regs(o);
  wgmma::fence();
  issue_pv<D>(o, p, v_prev);  // the last tile's P·V (P = 0 over the Q tile when the list was empty)
  wgmma::commit();
  wgmma::wait<0>();
  wgmma::fence_regs(o);

  const int t = (lane % 4) * 2;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    float sum = l[r];
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;  // no key at all (impossible for valid lists): a zero row
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

// cuTensorMapEncodeTiled from the driver, found through the runtime (no link against libcuda).
PFN_cuTensorMapEncodeTiled_v12000 encode_tiled() {
  static const PFN_cuTensorMapEncodeTiled_v12000 fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &found) !=
            cudaSuccess ||
        found != cudaDriverEntryPointSuccess) {
      return static_cast<PFN_cuTensorMapEncodeTiled_v12000>(nullptr);
    }
    return reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(f);
  }();
  return fn;
}

// A [rows, cols] bf16 row-major matrix read in 128-row x 64-column boxes with the 128-byte swizzle; rows past the end
// read as zeros.
bool make_tile_map(CUtensorMap* map, const bf16* base, int64_t rows, int64_t cols) {
  const auto encode = encode_tiled();
  if (encode == nullptr) return false;
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(cols), static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(cols) * 2};
  const cuuint32_t box[2] = {64, 128};
  const cuuint32_t elem_strides[2] = {1, 1};
  return encode(map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, const_cast<bf16*>(base), dims, strides, box, elem_strides,
                CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

template <int D>
bool launch_wgmma(const PrefillArgs& a, cudaStream_t stream) {
  using C = WgConfig<D>;
  Maps maps{};
  if (!make_tile_map(&maps.q, a.q, a.n_q, int64_t{a.n_heads} * D) ||
      !make_tile_map(&maps.k, a.k, a.n_kv, int64_t{a.n_kv_heads} * D) ||
      !make_tile_map(&maps.v, a.v, a.n_kv, int64_t{a.n_kv_heads} * D)) {
    return false;
  }
  static const cudaError_t attr =
      cudaFuncSetAttribute(prefill_wgmma_kernel<D>, cudaFuncAttributeMaxDynamicSharedMemorySize, C::kSmemBytes);
  (void)attr;  // a failure shows up as a launch error, which the caller checks
  const int64_t block = a.mask.block;
  const int64_t qb_lo = a.q_pos0 / block, qb_hi = (a.q_pos0 + a.n_q + block - 1) / block;
  const dim3 grid(static_cast<unsigned>((qb_hi - qb_lo) * (block / kBr)), static_cast<unsigned>(a.n_heads));
  prefill_wgmma_kernel<D><<<grid, kThreads, C::kSmemBytes, stream>>>(a, maps);
  return true;
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
      return launch_wgmma<64>(a, stream);
    case 128:
      return launch_wgmma<128>(a, stream);
    default:
      return false;
  }
}

}  // namespace flux::kernels
