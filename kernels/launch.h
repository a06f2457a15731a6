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

// Returns false if head_dim has no compiled kernel (16, 32, 64, 128 do). Picks the tensor-core kernel where it applies
// (head dim 64/128, block a multiple of 16, 16-byte aligned tensors) and the reference kernel otherwise; the
// environment variable FLUX_PREFILL_KERNEL=simple forces the reference kernel (A/B checks and benchmarks).
bool launch_attention_prefill(const PrefillArgs& args, cudaStream_t stream);
// The two kernels behind it. The tensor-core one returns false (launching nothing) for shapes it does not cover.
bool launch_attention_prefill_mma(const PrefillArgs& args, cudaStream_t stream);
bool launch_attention_prefill_simple(const PrefillArgs& args, cudaStream_t stream);

// XAttention scoring (kernels/xattention_score.cu), the GPU twin of engine/attention/xattention.h's
// xattention_block_scores: q [n, n_heads*head_dim], k [n, n_kv_heads*head_dim] bf16, scale = 1/(sqrt(d)*stride).
struct XAttnArgs {
  const bf16* q = nullptr;
  const bf16* k = nullptr;
  int64_t n = 0;
  int n_heads = 1, n_kv_heads = 1, head_dim = 64;
  int stride = 16, block = 128;
  float scale = 1.0f;
};
// Coarse rows per scoring chunk (a multiple of block/stride) so the logits buffer stays within max_floats floats; the
// buffer must hold n_heads * chunk_rows * ceil(n/stride) floats.
int64_t xattn_chunk_rows(const XAttnArgs& args, int64_t max_floats);
// scores: [n_heads, nb, nb] floats, nb = ceil(n/block), zeros past the diagonal. False (nothing launched) for head dims
// other than 64/128, block % stride != 0, or more than 6144 blocks.
bool launch_xattn_scores(const XAttnArgs& args, float* logits, int64_t chunk_rows, float* scores, cudaStream_t stream);
// Ints in the dense causal lists of n_heads heads: the size of `scratch` (and a bound for kv_blocks).
int64_t xattn_dense_list_size(int n_heads, int n_q_blocks, int n_kv_blocks);
// Threshold selection on scores [n_heads, n_q_blocks, n_kv_blocks] into CSR (offsets: n_heads*n_q_blocks + 1 ints;
// counts: n_heads*n_q_blocks ints of scratch). False (nothing launched) for shapes it does not cover.
bool launch_xattn_select(const float* scores, int n_heads, int n_q_blocks, int n_kv_blocks, float threshold,
                         int32_t* scratch, int32_t* counts, int32_t* offsets, int32_t* kv_blocks, cudaStream_t stream);

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
