// Row and elementwise kernels of the CUDA backend: bf16 storage, fp32 arithmetic. Plain grid-stride loops; these
// ops are memory-bound and small next to the GEMMs and attention.
#include <algorithm>
#include <cstdint>

#include "engine/backend/random_fill.h"
#include "kernels/chained_launch.cuh"
#include "kernels/launch.h"
#include "kernels/rms_scale.cuh"

namespace flux::kernels {
namespace {

constexpr int kThreads = 256;

int grid_for(int64_t n) {
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 65535 ? (blocks > 0 ? blocks : 1) : 65535);
}

__global__ void embed_kernel(const bf16* table, int64_t cols, const int32_t* ids, bf16* out) {
  chain_start();
  const int64_t r = blockIdx.x;
  const bf16* src = table + static_cast<int64_t>(ids[r]) * cols;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) out[r * cols + c] = src[c];
}

// One block per row: a fp32 sum of squares reduced through warp shuffles and shared memory.
__global__ void rms_norm_kernel(const bf16* x, const bf16* w, float eps, int64_t cols, bf16* out) {
  chain_start();
  const int64_t r = blockIdx.x;
  const bf16* xr = x + r * cols;
  float ss = 0.0f;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const float v = __bfloat162float(xr[c]);
    ss += v * v;
  }
  const float scale = rms_scale(ss, cols, eps);
  bf16* yr = out + r * cols;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x)
    yr[c] = __float2bfloat16(__bfloat162float(xr[c]) * scale * __bfloat162float(w[c]));
}

// The same for rows of 16-byte chunks (cols % 8 == 0, aligned): each thread keeps its chunks in registers, so a row
// costs one load round trip instead of a serial chain of 2-byte loads (decode normalises one 4096-wide row per call).
constexpr int kNormChunks = 2;  // 16-byte chunks per thread: up to 1024 * 2 * 8 = 16384 columns

__global__ void rms_norm_vec_kernel(const bf16* x, const bf16* w, float eps, int64_t cols, bf16* out) {
  chain_start();
  const int64_t r = blockIdx.x;
  const int n_chunks = static_cast<int>(cols / 8);
  const uint4* xr = reinterpret_cast<const uint4*>(x + r * cols);
  uint4 v[kNormChunks];
  float ss = 0.0f;
#pragma unroll
  for (int k = 0; k < kNormChunks; ++k) {
    const int c = threadIdx.x + k * blockDim.x;
    v[k] = c < n_chunks ? xr[c] : make_uint4(0, 0, 0, 0);
    ss += squares_bf16x8(v[k]);
  }
  const float scale = rms_scale(ss, cols, eps);
  const uint4* wr = reinterpret_cast<const uint4*>(w);
  uint4* yr = reinterpret_cast<uint4*>(out + r * cols);
#pragma unroll
  for (int k = 0; k < kNormChunks; ++k) {
    const int c = threadIdx.x + k * blockDim.x;
    if (c >= n_chunks) continue;
    yr[c] = normalize_bf16x8(v[k], wr[c], scale);
  }
}

__global__ void add_bias_kernel(bf16* x, const bf16* bias, int64_t rows, int64_t cols) {
  chain_start();
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < rows * cols;
       i += int64_t{gridDim.x} * blockDim.x)
    x[i] = __float2bfloat16(__bfloat162float(x[i]) + __bfloat162float(bias[i % cols]));
}

__global__ void add_kernel(bf16* x, const bf16* y, int64_t n) {
  chain_start();
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    x[i] = __float2bfloat16(__bfloat162float(x[i]) + __bfloat162float(y[i]));
}

__global__ void swiglu_kernel(const bf16* gate, const bf16* up, bf16* out, int64_t n) {
  chain_start();
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const float g = __bfloat162float(gate[i]);
    out[i] = __float2bfloat16(g / (1.0f + expf(-g)) * __bfloat162float(up[i]));
  }
}

// Blocks (row, slice of kThreads (head, i < half) pairs): one pair per thread, so a decode row is one wave.
// Row r is at position pos0 + r, plus *pos_dev when given (a decode step's position, read when the kernel runs);
// a decode step under dynamic NTK computes its frequencies from that position (engine/backend/rope_table.h).
__global__ void rope_kernel(bf16* x, int64_t cols, int head_dim, int64_t pos0, const int64_t* pos_dev,
                            const double* inv_freq, float scale, engine::RopeDynamicNtk dynamic) {
  chain_start();
  const int64_t r = blockIdx.x;
  const int half = head_dim / 2;
  const int64_t pairs = cols / 2;
  const int64_t position = pos0 + r + (pos_dev != nullptr ? *pos_dev : 0);
  const double pos = static_cast<double>(position);
  const bool dynamic_step = pos_dev != nullptr && dynamic.active();
  const double base = dynamic_step ? dynamic.base(position + 1) : 0.0;
  for (int64_t t = blockIdx.y * int64_t{blockDim.x} + threadIdx.x; t < pairs; t += int64_t{gridDim.y} * blockDim.x) {
    const int64_t h = t / half;
    const int i = static_cast<int>(t % half);
    const double freq = dynamic_step ? engine::rope_inv_freq(base, i, head_dim) : inv_freq[i];
    const float angle = static_cast<float>(pos * freq);
    const float c = cosf(angle) * scale, s = sinf(angle) * scale;
    bf16* p = x + r * cols + h * head_dim;
    const float a = __bfloat162float(p[i]), b = __bfloat162float(p[i + half]);
    p[i] = __float2bfloat16(a * c - b * s);
    p[i + half] = __float2bfloat16(b * c + a * s);
  }
}

__global__ void random_fill_kernel(bf16* out, int64_t n, float scale, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x)
    out[i] = __float2bfloat16(engine::random_uniform(seed, static_cast<uint64_t>(i), scale));
}

__global__ void set_decode_step_kernel(engine::DecodeStepData* step, int32_t token, int64_t pos) {
  chain_start();
  step->token = token;
  step->pos = pos;
}

// One decode row of K and V into the cache row the layout gives the step's position.
__global__ void store_kv_step_kernel(const bf16* k, const bf16* v, int64_t kv_dim,
                                     const engine::DecodeStepData* step, engine::KvLayout layout, bf16* cache_k,
                                     bf16* cache_v) {
  chain_start();
  const int64_t row = layout.slot_of(step->pos) * kv_dim;
  for (int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; c < kv_dim; c += int64_t{gridDim.x} * blockDim.x) {
    cache_k[row + c] = k[c];
    cache_v[row + c] = v[c];
  }
}

// Column means over row ranges: 32 columns per block, 8 row lanes each summing every 8th row, then a shared-memory
// reduction. fp32 sums of at most a few hundred bf16 rows (the router's pooling windows).
__global__ void mean_of_rows_kernel(const bf16* x, int64_t cols, RowRanges ranges, float* out) {
  __shared__ float partial[8][32];
  const int64_t c = blockIdx.x * int64_t{32} + threadIdx.x;
  float sum = 0.0f;
  int64_t count = 0;
  for (int r = 0; r < ranges.n; ++r) {
    count += ranges.end[r] - ranges.begin[r];
    if (c >= cols) continue;
    for (int64_t row = ranges.begin[r] + threadIdx.y; row < ranges.end[r]; row += blockDim.y)
      sum += __bfloat162float(x[row * cols + c]);
  }
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || c >= cols) return;
  float total = 0.0f;
  for (int y = 0; y < static_cast<int>(blockDim.y); ++y) total += partial[y][threadIdx.x];
  out[c] = count > 0 ? total / static_cast<float>(count) : 0.0f;
}

}  // namespace

bool chained_launches_active() {
  return chained_launch_allowed_by_env() && kernel_waits_on_chain(add_kernel);
}

void launch_mean_of_rows(const bf16* x, int64_t cols, const RowRanges& ranges, float* out, cudaStream_t stream) {
  const dim3 block(32, 8);
  if (cols > 0) mean_of_rows_kernel<<<static_cast<unsigned>((cols + 31) / 32), block, 0, stream>>>(x, cols, ranges, out);
}

void launch_set_decode_step(engine::DecodeStepData* step, int32_t token, int64_t pos, cudaStream_t stream) {
  launch_chained(set_decode_step_kernel, 1, 1, 0, stream, step, token, pos);
}

void launch_store_kv_step(const bf16* k, const bf16* v, int64_t kv_dim, const engine::DecodeStepData* step,
                          engine::KvLayout layout, bf16* cache_k, bf16* cache_v, cudaStream_t stream) {
  launch_chained(store_kv_step_kernel, grid_for(kv_dim), kThreads, 0, stream, k, v, kv_dim, step, layout, cache_k,
                 cache_v);
}

void launch_random_fill(bf16* out, int64_t n, float scale, uint64_t seed, cudaStream_t stream) {
  if (n > 0) random_fill_kernel<<<grid_for(n), kThreads, 0, stream>>>(out, n, scale, seed);
}

void launch_embed(const bf16* table, int64_t cols, const int32_t* ids, int64_t n, bf16* out, cudaStream_t stream) {
  if (n > 0) launch_chained(embed_kernel, static_cast<unsigned>(n), kThreads, 0, stream, table, cols, ids, out);
}

void launch_rms_norm(const bf16* x, const bf16* weight, float eps, int64_t rows, int64_t cols, bf16* out,
                     cudaStream_t stream) {
  if (rows <= 0) return;
  const bool vec =
      cols % 8 == 0 && cols <= int64_t{1024} * kNormChunks * 8 && aligned16(x) && aligned16(weight) && aligned16(out);
  if (vec) {  // enough warps for every chunk to sit in a register on the first pass
    const int64_t chunks_per_thread_row = (cols / 8 + kNormChunks - 1) / kNormChunks;
    const int threads = static_cast<int>((chunks_per_thread_row + 31) / 32 * 32);
    launch_chained(rms_norm_vec_kernel, static_cast<unsigned>(rows), threads, 0, stream, x, weight, eps, cols, out);
    return;
  }
  // Narrow rows (QK-norm heads of 16..128) get one or a few warps, wide rows 256 threads.
  const int threads = cols >= 256 ? 256 : static_cast<int>((cols + 31) / 32 * 32);
  launch_chained(rms_norm_kernel, static_cast<unsigned>(rows), threads, 0, stream, x, weight, eps, cols, out);
}

void launch_add_bias(bf16* x, const bf16* bias, int64_t rows, int64_t cols, cudaStream_t stream) {
  if (rows * cols > 0) launch_chained(add_bias_kernel, grid_for(rows * cols), kThreads, 0, stream, x, bias, rows, cols);
}

void launch_add(bf16* x, const bf16* y, int64_t n, cudaStream_t stream) {
  if (n > 0) launch_chained(add_kernel, grid_for(n), kThreads, 0, stream, x, y, n);
}

void launch_swiglu(const bf16* gate, const bf16* up, bf16* out, int64_t n, cudaStream_t stream) {
  if (n > 0) launch_chained(swiglu_kernel, grid_for(n), kThreads, 0, stream, gate, up, out, n);
}

void launch_rope(bf16* x, int64_t rows, int64_t cols, int head_dim, int64_t pos0, const int64_t* pos_dev,
                 const double* inv_freq, float scale, engine::RopeDynamicNtk dynamic, cudaStream_t stream) {
  const int64_t slices = std::min<int64_t>((cols / 2 + kThreads - 1) / kThreads, 64);
  const dim3 grid(static_cast<unsigned>(rows), static_cast<unsigned>(std::max<int64_t>(slices, 1)));
  if (rows > 0)
    launch_chained(rope_kernel, grid, kThreads, 0, stream, x, cols, head_dim, pos0, pos_dev, inv_freq, scale,
                   dynamic);
}

}  // namespace flux::kernels
