// Block-sparse attention prefill, reference kernel (head dims 16/32, blocks not a multiple of 16, and a fallback): one
// CTA per (query head, 64-row query tile inside one query block) walks the tile's CSR list of KV blocks with an fp32
// online softmax and the exact element mask. Plain FMA loops over bf16 shared-memory tiles (no tensor cores yet): the
// reference-grade kernel a tensor-core version will be tested on.
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "kernels/attention_mask.cuh"
#include "kernels/launch.h"

namespace flux::kernels {
namespace {

constexpr int kBq = 64;        // query rows per CTA
constexpr int kBk = 32;        // keys per shared-memory tile
constexpr int kThreads = 256;  // 4 threads per query row
constexpr int kScoresPerThread = kBk / 4;

template <int D>
__global__ void __launch_bounds__(kThreads) prefill_kernel(PrefillArgs a) {
  if (a.gate != nullptr && *a.gate != a.gate_run) return;  // the router chose the other plan
  constexpr int kPad = D + 2;  // odd word stride: rows of one warp land in different banks
  constexpr int kPerThread = D / 4;
  __shared__ bf16 sq[kBq][kPad];
  __shared__ bf16 sk[kBk][kPad];
  __shared__ bf16 sv[kBk][kPad];
  __shared__ float sp[kBq][kBk + 1];

  const int h = blockIdx.y;
  const int64_t block = a.mask.block;
  const int64_t tiles_per_qb = (block + kBq - 1) / kBq;
  const int64_t qb = a.q_pos0 / block + blockIdx.x / tiles_per_qb;
  const int64_t p_begin = max(qb * block, a.q_pos0);
  const int64_t p_end = min((qb + 1) * block, a.q_pos0 + a.n_q);
  const int64_t p0 = p_begin + (blockIdx.x % tiles_per_qb) * kBq;
  if (p0 >= p_end) return;  // uniform over the CTA
  const int64_t p1 = min(p0 + kBq, p_end);
  const int rows = static_cast<int>(p1 - p0);
  const int g = h / (a.n_heads / a.n_kv_heads);
  const int64_t ldq = int64_t{a.n_heads} * D, ldk = int64_t{a.n_kv_heads} * D;
  const int tid = threadIdx.x;

  for (int idx = tid; idx < kBq * D; idx += kThreads) {
    const int r = idx / D, e = idx % D;
    sq[r][e] = r < rows ? a.q[(p0 - a.q_pos0 + r) * ldq + int64_t{h} * D + e] : __float2bfloat16(0.0f);
  }

  const int r = tid / 4, part = tid % 4;
  const int64_t i = p0 + r;
  float m = -INFINITY, l = 0.0f;
  float acc[kPerThread];
  for (int x = 0; x < kPerThread; ++x) acc[x] = 0.0f;

  const int64_t list_row = int64_t{a.list_heads == 1 ? 0 : h} * a.n_q_blocks + qb;
  const int list_begin = a.offsets[list_row], list_end = a.offsets[list_row + 1];
  for (int li = list_begin; li < list_end; ++li) {
    const int64_t j_begin = int64_t{a.kv_blocks[li]} * block;
    const int64_t j_end = min(min(j_begin + block, a.n_kv), p1);  // p1: no key past the last query
    for (int64_t j0 = j_begin; j0 < j_end; j0 += kBk) {
      const int cols = static_cast<int>(min(int64_t{kBk}, j_end - j0));
      __syncthreads();  // the previous tile's sk/sv/sp are no longer read
      for (int idx = tid; idx < kBk * D; idx += kThreads) {
        const int c = idx / D, e = idx % D;
        const bool ok = c < cols;
        const int64_t at = (j0 + c) * ldk + int64_t{g} * D + e;
        sk[c][e] = ok ? a.k[at] : __float2bfloat16(0.0f);
        sv[c][e] = ok ? a.v[at] : __float2bfloat16(0.0f);
      }
      __syncthreads();

      float s[kScoresPerThread];
      float mx = -INFINITY;
      for (int kk = 0; kk < kScoresPerThread; ++kk) {
        const int c = part + 4 * kk;
        float dot = 0.0f;
        for (int e = 0; e < D; ++e) dot += __bfloat162float(sq[r][e]) * __bfloat162float(sk[c][e]);
        const bool allowed = r < rows && c < cols && mask_allows_dev(a.mask, i, j0 + c);
        s[kk] = allowed ? dot * a.scale : -INFINITY;
        mx = fmaxf(mx, s[kk]);
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      const float m_new = fmaxf(m, mx);
      const bool any = m_new != -INFINITY;
      const float alpha = any ? expf(m - m_new) : 1.0f;
      float sum = 0.0f;
      for (int kk = 0; kk < kScoresPerThread; ++kk) {
        const float p = any ? expf(s[kk] - m_new) : 0.0f;
        sum += p;
        sp[r][part + 4 * kk] = p;
      }
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      l = l * alpha + sum;
      m = m_new;
      for (int x = 0; x < kPerThread; ++x) acc[x] *= alpha;
      __syncthreads();

      for (int c = 0; c < cols; ++c) {
        const float p = sp[r][c];
        for (int x = 0; x < kPerThread; ++x) acc[x] += p * __bfloat162float(sv[c][part * kPerThread + x]);
      }
    }
  }
  if (r < rows) {
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    bf16* dst = a.out + (i - a.q_pos0) * ldq + int64_t{h} * D + part * kPerThread;
    for (int x = 0; x < kPerThread; ++x) dst[x] = __float2bfloat16(acc[x] * inv);
  }
}

}  // namespace

bool launch_attention_prefill_simple(const PrefillArgs& args, cudaStream_t stream) {
  if (args.n_q == 0) return true;
  const int64_t block = args.mask.block;
  const int64_t qb_lo = args.q_pos0 / block, qb_hi = (args.q_pos0 + args.n_q + block - 1) / block;
  const dim3 grid(static_cast<unsigned>((qb_hi - qb_lo) * ((block + kBq - 1) / kBq)),
                  static_cast<unsigned>(args.n_heads));
  switch (args.head_dim) {
    case 16:
      prefill_kernel<16><<<grid, kThreads, 0, stream>>>(args);
      return true;
    case 32:
      prefill_kernel<32><<<grid, kThreads, 0, stream>>>(args);
      return true;
    case 64:
      prefill_kernel<64><<<grid, kThreads, 0, stream>>>(args);
      return true;
    case 128:
      prefill_kernel<128><<<grid, kThreads, 0, stream>>>(args);
      return true;
    default:
      return false;
  }
}

bool launch_attention_prefill(const PrefillArgs& args, cudaStream_t stream) {
  // FLUX_PREFILL_KERNEL=simple|mma caps the choice (A/B checks and benchmarks); unset: the fastest that applies.
  static const int cap = [] {
    const char* e = std::getenv("FLUX_PREFILL_KERNEL");
    if (e != nullptr && std::strcmp(e, "simple") == 0) return 0;
    if (e != nullptr && std::strcmp(e, "mma") == 0) return 1;
    return 2;
  }();
  if (cap >= 2 && launch_attention_prefill_wgmma(args, stream)) return true;
  if (cap >= 1 && launch_attention_prefill_mma(args, stream)) return true;
  return launch_attention_prefill_simple(args, stream);
}

}  // namespace flux::kernels
