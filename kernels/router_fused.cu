// The Layer Router in one launch (launch_router_fused, kernels/launch.h): the pooling of the routed rows, every Linear
// of the MLP and the decision, with grid-wide barriers (a cooperative launch: every block resident) between the steps
// instead of a launch, a scratch allocation and a stream dependency each. A router layer of the SmolLM2 router is
// 5 Linears over ~0.6 MB of fp32 weights: spread over kMaxBlocks SMs, not one block (a single-block version was
// slower in device time than the separate launches).
//
// Steps: (1) each block sums its share of the pooled rows per column into scratch; barrier; (2) every block adds the
// blocks' sums in a fixed order into its own shared copy of the mean (no barrier needed); (3) Linear i's outputs are
// spread over every warp of the grid (one warp per output, router_math::linear_row), barrier after each; the last
// Linear (the head: a few outputs) runs in block 0 alone, which then (4) writes the decision.
#include <cooperative_groups.h>

#include "kernels/launch.h"
#include "kernels/router_math.cuh"

namespace flux::kernels {
namespace {

namespace cg = cooperative_groups;

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kMaxBlocks = 32;  // fixed, so the pooling's order of adds (and so the bits) does not depend on load

// The t-th pooled row: ranges laid end to end.
__device__ int64_t pooled_row(const RowRanges& r, int64_t t) {
  for (int i = 0; i < r.n; ++i) {
    const int64_t len = r.end[i] - r.begin[i];
    if (t < len) return r.begin[i] + t;
    t -= len;
  }
  return 0;  // not reached: t < the ranges' total
}

__global__ void __launch_bounds__(kThreads) router_fused_kernel(RouterFusedArgs a) {
  extern __shared__ float s_mean[];  // [cols]: the pooled mean, viewed as [rows, linears[0].in]
  __shared__ float s_part[kWarps][32];
  cg::grid_group grid = cg::this_grid();
  const int warp = static_cast<int>(threadIdx.x / 32), lane = static_cast<int>(threadIdx.x % 32);
  const int blocks = static_cast<int>(gridDim.x);
  const int rows = static_cast<int>(a.cols / a.linears[0].in);
  int64_t count = 0;
  for (int i = 0; i < a.ranges.n; ++i) count += a.ranges.end[i] - a.ranges.begin[i];

  // (1) Warp w of block g sums flat rows g·kWarps + w, then every blocks·kWarps-th, for 32 columns at a time.
  float* block_sums = a.scratch;  // [blocks][cols]
  for (int64_t c0 = 0; c0 < a.cols; c0 += 32) {
    const int64_t c = c0 + lane;
    float sum = 0.0f;
    if (c < a.cols) {
      for (int64_t t = int64_t{blockIdx.x} * kWarps + warp; t < count; t += int64_t{blocks} * kWarps)
        sum += __bfloat162float(a.x[pooled_row(a.ranges, t) * a.cols + c]);
    }
    s_part[warp][lane] = sum;
    __syncthreads();
    if (warp == 0 && c < a.cols) {
      float total = 0.0f;
      for (int w = 0; w < kWarps; ++w) total += s_part[w][lane];
      block_sums[int64_t{blockIdx.x} * a.cols + c] = total;
    }
    __syncthreads();  // s_part is reused by the next 32 columns
  }
  grid.sync();

  // (2) The mean, in every block.
  for (int64_t c = threadIdx.x; c < a.cols; c += kThreads) {
    float total = 0.0f;
    for (int g = 0; g < blocks; ++g) total += block_sums[int64_t{g} * a.cols + c];
    s_mean[c] = count > 0 ? total / static_cast<float>(count) : 0.0f;
  }
  __syncthreads();

  // (3) The Linears, ping-ponging between two scratch areas; the last one writes a.out.
  float* ping = a.scratch + int64_t{blocks} * a.cols;
  const int64_t ping_floats = int64_t{rows} * a.widest;
  const float* in = s_mean;
  for (int i = 0; i + 1 < a.n_linears; ++i) {
    const RouterLinear& l = a.linears[i];
    float* y = ping + (i % 2) * ping_floats;
    for (int o = static_cast<int>(blockIdx.x) * kWarps + warp; o < l.out; o += blocks * kWarps)
      router_math::linear_row(in, rows, l.in, l.w, l.b, l.out, l.silu, y, o);
    grid.sync();
    in = y;
  }
  if (blockIdx.x != 0) return;
  const RouterLinear& head = a.linears[a.n_linears - 1];
  for (int o = warp; o < head.out; o += kWarps)
    router_math::linear_row(in, rows, head.in, head.w, head.b, head.out, head.silu, a.out, o);
  __syncthreads();

  // (4) The decision from the block's own writes (visible after the barrier).
  if (a.decision != nullptr && threadIdx.x == 0)
    *a.decision = router_math::decide(a.out, rows * head.out, a.rule, a.temperature, a.threshold);
}

// Blocks of the cooperative grid: kMaxBlocks, or fewer where they would not all be resident (shared memory sized
// for the widest x the kernel takes).
int grid_blocks() {
  static const int blocks = [] {
    int device = 0, sms = 0, per_sm = 0;
    cudaGetDevice(&device);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
    cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, router_fused_kernel, kThreads,
                                                  static_cast<std::size_t>(kMaxRouterCols) * sizeof(float));
    const int resident = sms * per_sm;
    return resident < kMaxBlocks ? resident : kMaxBlocks;
  }();
  return blocks;
}

}  // namespace

int64_t router_fused_scratch_floats(int64_t cols, int rows, int widest) {
  return kMaxBlocks * cols + 2 * int64_t{rows} * widest;
}

bool launch_router_fused(const RouterFusedArgs& args, cudaStream_t stream) {
  if (args.n_linears < 1 || args.n_linears > kMaxRouterLinears || args.cols < 1 || args.cols > kMaxRouterCols ||
      args.linears[0].in < 1 || args.cols % args.linears[0].in != 0)
    return false;
  const int blocks = grid_blocks();
  if (blocks < 1) return false;
  RouterFusedArgs a = args;
  void* params[] = {&a};
  // A failed launch stays in cudaGetLastError for the caller's FLUX_CUDA_CHECK_LAUNCH (no silent fallback).
  cudaLaunchCooperativeKernel(reinterpret_cast<const void*>(router_fused_kernel), blocks, kThreads, params,
                              static_cast<std::size_t>(a.cols) * sizeof(float), stream);
  return true;
}

}  // namespace flux::kernels
