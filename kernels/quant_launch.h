// Launchers of the kernels that read GGML-block weights on the device (kernels/quant_gemv.cu): the decode GEMV that
// dequantizes in registers, and the dequantizer prefill GEMMs and embeddings use. Like kernels/launch.h, the only
// bridge between the .cu file and the host-compiled CudaBackend.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace flux::kernels {

// The block types the device decodes (kernels/quant_blocks.cuh); CudaBackend maps engine DTypes onto these.
enum class QuantType : uint8_t { Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K };

// One matrix [rows, cols] of blocks, rows row_bytes apart (cols a whole number of blocks).
struct QuantMatrix {
  const void* blocks = nullptr;
  QuantType type = QuantType::Q8_0;
  int64_t row_bytes = 0;
  int64_t rows = 0;
};

// The fused decode forms of launch_gemv (kernels/launch.h) on block weights, x one bf16 row [1, in]:
// epilogue 0 Store — y[m] = x·W[m]ᵀ for `count` matrices (each may have its own type: Q4_K_M files mix Q4_K and
// Q6_K within a layer); 1 Accumulate — y[m] += x·W[m]ᵀ; 2 SwiGLU — y[0] = silu(x·W[0]ᵀ) * (x·W[1]ᵀ).
// x is quantized to int8 per 32 values inside the launch (the dot products are __dp4a on the blocks' bytes).
// False (nothing launched) when in is not a multiple of 32, x or a matrix is not 16-byte aligned, or in is too
// large for the shared memory (> ~160K).
inline constexpr int kMaxQuantGemvMatrices = 3;
// With norm set, x is RMSNorm-ed by that weight (launch_rms_norm's arithmetic and bf16 rounding) as it is quantized:
// each block computes the scale itself, so the layer's norm needs no launch of its own.
struct QuantGemvJob {
  int count = 0;
  QuantMatrix w[kMaxQuantGemvMatrices];
  __nv_bfloat16* y[kMaxQuantGemvMatrices] = {};
  const __nv_bfloat16* norm = nullptr;
  float eps = 0.0f;
};
bool launch_quant_gemv(const __nv_bfloat16* x, const QuantGemvJob& job, int epilogue, int64_t in,
                       cudaStream_t stream);

// out [n, cols] bf16 = rows ids[0..n) of w (ids on the device), or rows 0..n when ids is null.
void launch_dequantize_rows(const QuantMatrix& w, int64_t cols, const int32_t* ids, int64_t n, __nv_bfloat16* out,
                            cudaStream_t stream);

}  // namespace flux::kernels
