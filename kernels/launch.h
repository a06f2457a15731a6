// C-style launchers of the CUDA kernels: the only bridge between nvcc-compiled .cu files and the host-compiled
// CudaBackend, so that engine headers (fmt, spdlog) never pass through nvcc. All launches are async on `stream`.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace flux::kernels {

using bf16 = __nv_bfloat16;

void launch_embed(const bf16* table, int64_t cols, const int32_t* ids, int64_t n, bf16* out, cudaStream_t stream);
// out = x * rsqrt(mean(x^2) + eps) * weight per row of `cols` values; out may alias x.
void launch_rms_norm(const bf16* x, const bf16* weight, float eps, int64_t rows, int64_t cols, bf16* out,
                     cudaStream_t stream);
void launch_add_bias(bf16* x, const bf16* bias, int64_t rows, int64_t cols, cudaStream_t stream);
void launch_add(bf16* x, const bf16* y, int64_t n, cudaStream_t stream);
void launch_swiglu(const bf16* gate, const bf16* up, bf16* out, int64_t n, cudaStream_t stream);
// inv_freq: head_dim / 2 doubles; the angle is float(pos * inv_freq[i]), as on the CPU.
void launch_rope(bf16* x, int64_t rows, int64_t cols, int head_dim, int64_t pos0, const double* inv_freq,
                 cudaStream_t stream);

// The token-level mask of attention_plan.h's mask_allows, as plain data. mode follows AttentionMode's order.
struct MaskParams {
  int mode = 0;  // 0 full, 1 streaming, 2 triangle, 3 xattn
  int block = 128;
  int sink = 0;
  int window = 1;
  int n_last = 0;
  int token_exact = 0;
  int64_t n_tokens = 0;
};

struct PrefillArgs {
  const bf16* q = nullptr;
  const bf16* k = nullptr;
  const bf16* v = nullptr;
  bf16* out = nullptr;
  const int32_t* offsets = nullptr;  // CSR block lists (device)
  const int32_t* kv_blocks = nullptr;
  int64_t n_q = 0, q_pos0 = 0, n_kv = 0;
  int n_heads = 1, n_kv_heads = 1, head_dim = 64;
  int list_heads = 1, n_q_blocks = 0;
  float scale = 1.0f;
  MaskParams mask;
};

// Returns false if head_dim has no compiled kernel (16, 32, 64, 128 do).
bool launch_attention_prefill(const PrefillArgs& args, cudaStream_t stream);

struct DecodeArgs {
  const bf16* q = nullptr;
  const bf16* k = nullptr;
  const bf16* v = nullptr;
  bf16* out = nullptr;
  int64_t n_slots = 0;
  int n_heads = 1, n_kv_heads = 1, head_dim = 64;
  float scale = 1.0f;
};

// Split-KV decode: `scratch` holds decode_scratch_floats(...) floats.
int64_t decode_scratch_floats(int64_t n_slots, int n_heads, int head_dim);
bool launch_attention_decode(const DecodeArgs& args, float* scratch, cudaStream_t stream);

}  // namespace flux::kernels
