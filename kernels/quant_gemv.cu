// Kernels on GGML-block weights (kernels/quant_launch.h). The decode GEMV follows kernels/gemv.cu — one warp per
// output row, lanes striding over the row — with 32-element units in place of 16-byte words: each lane decodes a
// unit into registers (kernels/quant_blocks.cuh) and dots it with the matching 32 values of x, so a decode step
// reads the weights in their stored size (Q4_K: 4.5 bits a weight instead of bf16's 16).
#include "kernels/bf16_vec.cuh"
#include "kernels/chained_launch.cuh"
#include "kernels/quant_blocks.cuh"

namespace flux::kernels {
namespace {

constexpr int kWarpsPerBlock = 8;

template <QuantType T>
__device__ __forceinline__ float row_dot(const __nv_bfloat16* __restrict__ x, const uint8_t* __restrict__ row,
                                         int64_t units, int lane) {
  float acc = 0.0f;
  for (int64_t u = lane; u < units; u += 32) {
    float v[kQuantUnit];
    unit_values<T>(row, u, v);
    const uint4* xv = reinterpret_cast<const uint4*>(x + u * kQuantUnit);
#pragma unroll
    for (int w = 0; w < kQuantUnit / kBf16PerVec; ++w) {
      float xf[kBf16PerVec];
      unpack_bf16x8(__ldg(xv + w), xf);
#pragma unroll
      for (int e = 0; e < kBf16PerVec; ++e) acc += v[w * kBf16PerVec + e] * xf[e];
    }
  }
  return acc;
}

__device__ __forceinline__ float dispatch_row_dot(const __nv_bfloat16* x, const QuantMatrix& m, int64_t row,
                                                  int64_t units, int lane) {
  const auto* r = static_cast<const uint8_t*>(m.blocks) + row * m.row_bytes;
  switch (m.type) {  // warp-uniform: a warp handles one row of one matrix
    case QuantType::Q4_0: return row_dot<QuantType::Q4_0>(x, r, units, lane);
    case QuantType::Q4_1: return row_dot<QuantType::Q4_1>(x, r, units, lane);
    case QuantType::Q5_0: return row_dot<QuantType::Q5_0>(x, r, units, lane);
    case QuantType::Q5_1: return row_dot<QuantType::Q5_1>(x, r, units, lane);
    case QuantType::Q8_0: return row_dot<QuantType::Q8_0>(x, r, units, lane);
    case QuantType::Q4_K: return row_dot<QuantType::Q4_K>(x, r, units, lane);
    case QuantType::Q5_K: return row_dot<QuantType::Q5_K>(x, r, units, lane);
    case QuantType::Q6_K: return row_dot<QuantType::Q6_K>(x, r, units, lane);
  }
  return 0.0f;
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// Epilogue as in launch_quant_gemv: 0 Store, 1 Accumulate, 2 SwiGLU.
template <int E>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    quant_gemv_kernel(const __nv_bfloat16* __restrict__ x, QuantGemvJob job, int64_t in) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  int64_t row = blockIdx.x * int64_t{kWarpsPerBlock} + threadIdx.x / 32;
  // The matrix this row falls in, by unrolled compares (indexing job's arrays would copy it to local memory).
  QuantMatrix w = job.w[0];
  __nv_bfloat16* y = job.y[0];
  if constexpr (E != 2) {
#pragma unroll
    for (int i = 1; i < kMaxQuantGemvMatrices; ++i)
      if (i < job.count && row >= w.rows) {
        row -= w.rows;
        w = job.w[i];
        y = job.y[i];
      }
  }
  if (row >= w.rows) return;
  chain_start();
  const int64_t units = in / kQuantUnit;
  float v = warp_sum(dispatch_row_dot(x, w, row, units, lane));
  if constexpr (E == 2) {
    const float up = warp_sum(dispatch_row_dot(x, job.w[1], row, units, lane));
    v = v / (1.0f + __expf(-v)) * up;
  }
  if (lane != 0) return;
  if constexpr (E == 1) v += __bfloat162float(y[row]);
  y[row] = __float2bfloat16(v);
}

template <QuantType T>
__device__ __forceinline__ void store_unit(const uint8_t* row, int64_t u, __nv_bfloat16* out) {
  float v[kQuantUnit];
  unit_values<T>(row, u, v);
  uint4 words[kQuantUnit / kBf16PerVec];
  auto* pairs = reinterpret_cast<__nv_bfloat162*>(words);
#pragma unroll
  for (int i = 0; i < kQuantUnit / 2; ++i) pairs[i] = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
  auto* dst = reinterpret_cast<uint4*>(out + u * kQuantUnit);
#pragma unroll
  for (int i = 0; i < kQuantUnit / kBf16PerVec; ++i) dst[i] = words[i];
}

__global__ void dequantize_rows_kernel(QuantMatrix w, int64_t cols, const int32_t* __restrict__ ids, int64_t n,
                                       __nv_bfloat16* __restrict__ out) {
  const int64_t units = cols / kQuantUnit;
  const int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  chain_start();
  if (t >= n * units) return;
  const int64_t r = t / units, u = t % units;
  const int64_t src = ids ? ids[r] : r;
  const auto* row = static_cast<const uint8_t*>(w.blocks) + src * w.row_bytes;
  __nv_bfloat16* dst = out + r * cols;
  switch (w.type) {
    case QuantType::Q4_0: store_unit<QuantType::Q4_0>(row, u, dst); break;
    case QuantType::Q4_1: store_unit<QuantType::Q4_1>(row, u, dst); break;
    case QuantType::Q5_0: store_unit<QuantType::Q5_0>(row, u, dst); break;
    case QuantType::Q5_1: store_unit<QuantType::Q5_1>(row, u, dst); break;
    case QuantType::Q8_0: store_unit<QuantType::Q8_0>(row, u, dst); break;
    case QuantType::Q4_K: store_unit<QuantType::Q4_K>(row, u, dst); break;
    case QuantType::Q5_K: store_unit<QuantType::Q5_K>(row, u, dst); break;
    case QuantType::Q6_K: store_unit<QuantType::Q6_K>(row, u, dst); break;
  }
}

bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

}  // namespace

bool launch_quant_gemv(const __nv_bfloat16* x, const QuantGemvJob& job, int epilogue, int64_t in,
                       cudaStream_t stream) {
  if (in % kQuantUnit != 0 || !aligned16(x) || job.count < 1 || job.count > kMaxQuantGemvMatrices) return false;
  int64_t rows = 0;
  for (int m = 0; m < job.count; ++m) rows += job.w[m].rows;
  if (epilogue == 2) rows = job.w[0].rows;
  const auto blocks = static_cast<unsigned>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
  if (blocks == 0) return true;
  switch (epilogue) {
    case 0: launch_chained(quant_gemv_kernel<0>, blocks, kWarpsPerBlock * 32, 0, stream, x, job, in); break;
    case 1: launch_chained(quant_gemv_kernel<1>, blocks, kWarpsPerBlock * 32, 0, stream, x, job, in); break;
    default: launch_chained(quant_gemv_kernel<2>, blocks, kWarpsPerBlock * 32, 0, stream, x, job, in); break;
  }
  return true;
}

void launch_dequantize_rows(const QuantMatrix& w, int64_t cols, const int32_t* ids, int64_t n, __nv_bfloat16* out,
                            cudaStream_t stream) {
  const int64_t threads = n * (cols / kQuantUnit);
  if (threads <= 0) return;
  constexpr int kThreads = 256;
  const auto blocks = static_cast<unsigned>((threads + kThreads - 1) / kThreads);
  launch_chained(dequantize_rows_kernel, blocks, kThreads, 0, stream, w, cols, ids, n, out);
}

}  // namespace flux::kernels
