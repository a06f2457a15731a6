// XAttention block selection on the GPU, the exact rule of engine/attention/xattention.cpp's
// select_blocks_from_scores: per (head, query block) row, KV block 0 and the diagonal are kept and counted first, the
// other causal blocks follow in descending score (ties: lower index first — a total order, so a bitonic sort
// reproduces std::stable_sort) while the cumulative score before each is < τ·total; totals and running sums in double
// and in the CPU's order (one thread walks the row), so the same float scores give the same lists. Rows are written
// ascending into a worst-case (dense causal) scratch, then counts are scanned into CSR offsets and compacted.
#include <climits>
#include <cmath>
#include <cstdint>

#include "kernels/launch.h"

namespace flux::kernels {
namespace {

constexpr int kSelectThreads = 256;
constexpr int kScanThreads = 1024;

// Where row (h, qb) starts in the dense causal scratch: rows before it hold diag(q) + 1 blocks each.
__host__ __device__ int64_t dense_row_base(int h, int64_t qb, int n_q_blocks, int n_kv_blocks) {
  const int64_t shift = int64_t{n_kv_blocks} - n_q_blocks;
  const int64_t per_head = int64_t{n_q_blocks} * (shift + 1) + int64_t{n_q_blocks} * (n_q_blocks - 1) / 2;
  return h * per_head + qb * (shift + 1) + qb * (qb - 1) / 2;
}

__device__ bool before(float ka, int ia, float kb, int ib) {
  return ka > kb || (ka == kb && ia < ib);
}

__global__ void __launch_bounds__(kSelectThreads)
    xattn_select_kernel(const float* scores, int n_q_blocks, int n_kv_blocks, int pow2, float threshold,
                        int32_t* scratch, int32_t* counts) {
  extern __shared__ unsigned char smem[];
  float* key = reinterpret_cast<float*>(smem);                               // [pow2]
  int* idx = reinterpret_cast<int*>(key + pow2);                             // [pow2]
  float* rs = reinterpret_cast<float*>(idx + pow2);                          // [n_kv_blocks]: the row, staged once
  unsigned char* keep = reinterpret_cast<unsigned char*>(rs + n_kv_blocks);  // [n_kv_blocks]
  const int qb = blockIdx.x, h = blockIdx.y;
  const int diag = qb + n_kv_blocks - n_q_blocks;
  const float* row = scores + (int64_t{h} * n_q_blocks + qb) * n_kv_blocks;
  int32_t* out = scratch + dense_row_base(h, qb, n_q_blocks, n_kv_blocks);
  const int64_t row_id = int64_t{h} * n_q_blocks + qb;
  if (threshold >= 1.0f) {  // every causal block, as the CPU does explicitly
    for (int kb = threadIdx.x; kb <= diag; kb += kSelectThreads) out[kb] = kb;
    if (threadIdx.x == 0) counts[row_id] = diag + 1;
    return;
  }
  const int n_other = diag > 1 ? diag - 1 : 0;  // blocks 1 .. diag-1 compete
  for (int i = threadIdx.x; i < pow2; i += kSelectThreads) {
    key[i] = i < n_other ? row[i + 1] : -INFINITY;
    idx[i] = i < n_other ? i + 1 : INT_MAX;  // padding sorts last
  }
  for (int kb = threadIdx.x; kb <= diag; kb += kSelectThreads) {
    keep[kb] = 0;
    rs[kb] = row[kb];
  }
  __syncthreads();
  for (int k = 2; k <= pow2; k <<= 1) {  // bitonic sort into "before" order
    for (int j = k >> 1; j > 0; j >>= 1) {
      for (int i = threadIdx.x; i < pow2; i += kSelectThreads) {
        const int p = i ^ j;
        if (p <= i) continue;
        const bool first_half = (i & k) == 0;
        const bool swap = first_half ? before(key[p], idx[p], key[i], idx[i]) : before(key[i], idx[i], key[p], idx[p]);
        if (swap) {
          const float tk = key[i];
          key[i] = key[p];
          key[p] = tk;
          const int ti = idx[i];
          idx[i] = idx[p];
          idx[p] = ti;
        }
      }
      __syncthreads();
    }
  }
  if (threadIdx.x == 0) {
    double total = 0.0;
    for (int kb = 0; kb <= diag; ++kb) total += rs[kb];  // index order, as the CPU sums
    const double required = static_cast<double>(threshold) * total;
    double cum = static_cast<double>(rs[0]) + (diag > 0 ? static_cast<double>(rs[diag]) : 0.0);
    keep[0] = 1;
    keep[diag] = 1;
    for (int i = 0; i < n_other; ++i) {
      if (!(cum < required)) break;
      keep[idx[i]] = 1;
      cum += key[i];
    }
    int n = 0;
    for (int kb = 0; kb <= diag; ++kb)
      if (keep[kb]) out[n++] = kb;
    counts[row_id] = n;
  }
}

// offsets[0..n] = exclusive scan of counts[0..n), in one CTA: each thread sums a contiguous segment, the segment sums
// are scanned in shared memory, then each thread writes its segment's offsets.
__global__ void __launch_bounds__(kScanThreads) scan_counts_kernel(const int32_t* counts, int64_t n, int32_t* offsets) {
  __shared__ int64_t part[kScanThreads];
  const int64_t per = (n + kScanThreads - 1) / kScanThreads;
  const int64_t lo = threadIdx.x * per, hi = min(lo + per, n);
  int64_t s = 0;
  for (int64_t i = lo; i < hi; ++i) s += counts[i];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int o = 1; o < kScanThreads; o <<= 1) {  // inclusive Hillis-Steele scan
    const int64_t v = threadIdx.x >= o ? part[threadIdx.x - o] : 0;
    __syncthreads();
    part[threadIdx.x] += v;
    __syncthreads();
  }
  int64_t run = part[threadIdx.x] - s;
  for (int64_t i = lo; i < hi; ++i) {
    offsets[i] = static_cast<int32_t>(run);
    run += counts[i];
  }
  if (threadIdx.x == kScanThreads - 1) offsets[n] = static_cast<int32_t>(part[kScanThreads - 1]);
}

__global__ void compact_kernel(const int32_t* scratch, const int32_t* offsets, int n_q_blocks, int n_kv_blocks,
                               int32_t* kv_blocks) {
  const int qb = blockIdx.x, h = blockIdx.y;
  const int64_t row_id = int64_t{h} * n_q_blocks + qb;
  const int32_t* src = scratch + dense_row_base(h, qb, n_q_blocks, n_kv_blocks);
  const int32_t begin = offsets[row_id], n = offsets[row_id + 1] - begin;
  for (int i = threadIdx.x; i < n; i += blockDim.x) kv_blocks[begin + i] = src[i];
}

}  // namespace

int64_t xattn_dense_list_size(int n_heads, int n_q_blocks, int n_kv_blocks) {
  return dense_row_base(n_heads, 0, n_q_blocks, n_kv_blocks);
}

bool launch_xattn_select(const float* scores, int n_heads, int n_q_blocks, int n_kv_blocks, float threshold,
                         int32_t* scratch, int32_t* counts, int32_t* offsets, int32_t* kv_blocks, cudaStream_t stream) {
  if (n_q_blocks > n_kv_blocks || n_heads < 1) return false;
  int pow2 = 1;
  while (pow2 < n_kv_blocks) pow2 <<= 1;
  const size_t smem = static_cast<size_t>(pow2) * 8 + static_cast<size_t>(n_kv_blocks) * 5;
  if (smem > 96 * 1024) return false;
  if (smem > 48 * 1024) {
    if (cudaFuncSetAttribute(xattn_select_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                             static_cast<int>(smem)) != cudaSuccess)
      return false;
  }
  const int64_t rows = int64_t{n_heads} * n_q_blocks;
  if (rows == 0) return cudaMemsetAsync(offsets, 0, sizeof(int32_t), stream) == cudaSuccess;
  const dim3 grid(static_cast<unsigned>(n_q_blocks), static_cast<unsigned>(n_heads));
  xattn_select_kernel<<<grid, kSelectThreads, smem, stream>>>(scores, n_q_blocks, n_kv_blocks, pow2, threshold, scratch,
                                                              counts);
  scan_counts_kernel<<<1, kScanThreads, 0, stream>>>(counts, rows, offsets);
  compact_kernel<<<grid, 128, 0, stream>>>(scratch, offsets, n_q_blocks, n_kv_blocks, kv_blocks);
  return true;
}

}  // namespace flux::kernels
