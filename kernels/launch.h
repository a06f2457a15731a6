// C-style launchers of the CUDA kernels: the only bridge between nvcc-compiled .cu files and the host-compiled
// CudaBackend, so that engine headers (fmt, spdlog) never pass through nvcc. All launches are async on `stream`.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "engine/backend/decode_step.h"
#include "engine/backend/rope_table.h"

namespace flux::kernels {

using bf16 = __nv_bfloat16;

// The 16-byte vector loads (uint4, cp.async, TMA) every fast path relies on; launchers fall back when it fails.
inline bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

void launch_embed(const bf16* table, int64_t cols, const int32_t* ids, int64_t n, bf16* out, cudaStream_t stream);
// out = x * rsqrt(mean(x^2) + eps) * weight per row of `cols` values; out may alias x.
void launch_rms_norm(const bf16* x, const bf16* weight, float eps, int64_t rows, int64_t cols, bf16* out,
                     cudaStream_t stream);
void launch_add_bias(bf16* x, const bf16* bias, int64_t rows, int64_t cols, cudaStream_t stream);
void launch_add(bf16* x, const bf16* y, int64_t n, cudaStream_t stream);
void launch_swiglu(const bf16* gate, const bf16* up, bf16* out, int64_t n, cudaStream_t stream);
// inv_freq: head_dim / 2 doubles; the angle is float(pos * inv_freq[i]), as on the CPU, and cos/sin are times
// `scale`. Row r is at position pos0 + r, plus *pos_dev when pos_dev is not null (a decode step's position, read
// when the kernel runs); then an active `dynamic` replaces inv_freq by dynamic NTK's frequencies at that position.
void launch_rope(bf16* x, int64_t rows, int64_t cols, int head_dim, int64_t pos0, const int64_t* pos_dev,
                 const double* inv_freq, float scale, engine::RopeDynamicNtk dynamic, cudaStream_t stream);

// y [n, out] = x [n, in] · Wᵀ for decode-sized n (kernels/gemv.cu). False (nothing launched) when n is outside
// 1..kMaxGemvRows, in is not a multiple of 8, or x/w are not 16-byte aligned: the caller uses cuBLASLt then.
// W must be a weight (nothing written during a run): a chained launch reads its first words before waiting for the
// previous kernel (kernels/chained_launch.cuh).
inline constexpr int kMaxGemvRows = 4;
bool launch_gemv(const bf16* x, const bf16* w, bf16* y, int64_t n, int64_t in, int64_t out, cudaStream_t stream);
// The fused forms, one launch each (same fallback rule): Store — y[m] = x·W[m]ᵀ for the job's `count` matrices (a
// layer's Q, K, V); Accumulate — y[m] += x·W[m]ᵀ (a residual add); SwiGLU — y[0] = silu(x·W[0]ᵀ) * (x·W[1]ᵀ), the two
// matrices having the same shape. y rows are out[m] wide.
inline constexpr int kMaxGemvMatrices = 3;
enum class GemvEpilogue { Store, Accumulate, SwiGLU };
// With norm set (16-byte aligned), the product is of RMSNorm(x) by that weight, computed inside the launch: each warp
// gathers its x rows' sums of squares as it streams and scales its dot products by them (fp32 throughout, where the
// unfused norm rounds its output to bf16 first).
struct GemvJob {
  int count = 0;
  const bf16* w[kMaxGemvMatrices] = {};
  bf16* y[kMaxGemvMatrices] = {};
  int64_t out[kMaxGemvMatrices] = {};
  const bf16* norm = nullptr;
  float eps = 0.0f;
};
bool launch_gemv(const bf16* x, const GemvJob& job, GemvEpilogue epilogue, int64_t n, int64_t in,
                 cudaStream_t stream);

// Column means of x [rows, cols] over up to kMaxRowRanges row ranges into out [cols] (fp32, device).
inline constexpr int kMaxRowRanges = 4;
struct RowRanges {
  int n = 0;
  int64_t begin[kMaxRowRanges] = {}, end[kMaxRowRanges] = {};
};
void launch_mean_of_rows(const bf16* x, int64_t cols, const RowRanges& ranges, float* out, cudaStream_t stream);
// y [rows, out] = x [rows, in] · Wᵀ + b in fp32, then SiLU when `silu` (kernels/small_mlp.cu: the router's MLP).
// The Layer Router's decision on the device from its MLP's out[0..n) (the arithmetic of
// engine/routing/layer_router.cpp decide_logits and decide_layer, in fp64): rule 0 Flux softmax {l_SA, l_FA}, FA iff
// σ(l_FA − l_SA) > threshold; 1 Flux sigmoid, FA iff σ(z/τ) > threshold; 2 Elastic, SA iff σ(mean z / τ) >
// threshold. Copies out to keep[0..n) and writes *decision = 1 for SA, 0 for FA.
void launch_router_decision(const float* out, int n, int rule, float temperature, float threshold, float* keep,
                            int32_t* decision, cudaStream_t stream);
void launch_linear_f32(const float* x, int rows, int in, const float* w, const float* b, int out, bool silu, float* y,
                       cudaStream_t stream);
// The Layer Router in one cooperative launch (kernels/router_fused.cu): launch_mean_of_rows of x over `ranges`, every
// Linear (launch_linear_f32's arithmetic) on the mean viewed as [cols / linears[0].in, linears[0].in] rows, and with
// `decision` set launch_router_decision's rule; out [rows, last Linear's out]. False (nothing launched) when the
// shape does not fit (no Linear or more than kMaxRouterLinears, x wider than kMaxRouterCols): compose the ops then.
inline constexpr int kMaxRouterLinears = 8;
inline constexpr int64_t kMaxRouterCols = 4096;
struct RouterLinear {
  const float* w = nullptr;
  const float* b = nullptr;
  int in = 0, out = 0;
  bool silu = false;
};
struct RouterFusedArgs {
  const bf16* x = nullptr;
  int64_t cols = 0;
  RowRanges ranges;
  int n_linears = 0;
  RouterLinear linears[kMaxRouterLinears];
  int widest = 0;            // the widest Linear output (scratch per row)
  float* scratch = nullptr;  // router_fused_scratch_floats(cols, rows, widest) floats
  float* out = nullptr;
  int32_t* decision = nullptr;  // null: outputs only
  int rule = 0;
  float temperature = 1.0f, threshold = 0.5f;
};
int64_t router_fused_scratch_floats(int64_t cols, int rows, int widest);
bool launch_router_fused(const RouterFusedArgs& args, cudaStream_t stream);

// Decode steps (engine/backend/decode_step.h): write the step's inputs in stream order; store one K/V row at the
// cache row layout.slot_of(step->pos).
void launch_set_decode_step(engine::DecodeStepData* step, int32_t token, int64_t pos, cudaStream_t stream);
void launch_store_kv_step(const bf16* k, const bf16* v, int64_t kv_dim, const engine::DecodeStepData* step,
                          engine::KvLayout layout, bf16* cache_k, bf16* cache_v, cudaStream_t stream);

// A decode step's attention inputs in one launch (kernels/decode_fused.cu): per head of q [1, n_heads·d] and
// k [1, n_kv_heads·d], RMSNorm by q_norm / k_norm (both null: none) as launch_rms_norm over head-wide rows, then
// RoPE at step->pos as launch_rope with a device position (inv_freq, or dynamic NTK's frequencies when active), both
// rewritten in place; then rotated k and v into cache row layout.slot_of(step->pos). False (nothing launched) for
// head dims above kMaxFusedHeadDim or odd, or one norm weight without the other.
inline constexpr int kMaxFusedHeadDim = 1024;
struct AttentionInputsArgs {
  bf16* q = nullptr;
  bf16* k = nullptr;
  const bf16* v = nullptr;
  const bf16* q_norm = nullptr;
  const bf16* k_norm = nullptr;
  float eps = 0.0f;
  int n_heads = 1, n_kv_heads = 1, head_dim = 64;
  const engine::DecodeStepData* step = nullptr;
  const double* inv_freq = nullptr;
  float rope_scale = 1.0f;
  engine::RopeDynamicNtk dynamic;
  engine::KvLayout layout;
  bf16* cache_k = nullptr;
  bf16* cache_v = nullptr;

  FLUX_HOST_DEVICE int64_t kv_dim() const { return static_cast<int64_t>(n_kv_heads) * head_dim; }
};
bool launch_attention_inputs_step(const AttentionInputsArgs& args, cudaStream_t stream);

// out[i] = bf16(random_uniform(seed, i, scale)) (engine/backend/random_fill.h): the same values CpuBackend draws.
void launch_random_fill(bf16* out, int64_t n, float scale, uint64_t seed, cudaStream_t stream);

// Token sampling on the device (engine/backend/token_sampling.h semantics): penalty, then greedy argmax or top-k →
// softmax(temperature) → top-p → inverse CDF at `uniform`. Two kernels: per-slice top-k candidates, then one block
// merges them and picks. Writes the token id to out_id (device).
inline constexpr int kMaxDeviceTopK = 256;
struct SampleArgs {
  const bf16* logits = nullptr;
  int64_t vocab = 0;
  const int32_t* penalized = nullptr;  // distinct ids (device), may be null when n_penalized == 0
  int n_penalized = 0;
  float penalty = 1.0f;
  float temperature = 0.0f;  // <= 0: greedy
  int top_k = 1;             // 1..kMaxDeviceTopK (greedy uses 1)
  float top_p = 1.0f;
  float uniform = 0.0f;
  int32_t* out_id = nullptr;
};
// Bytes of scratch launch_sample_token needs for this vocabulary and k.
int64_t sample_scratch_bytes(int64_t vocab, int top_k);
// Returns false (launching nothing) when top_k is outside 1..kMaxDeviceTopK or the penalized list is too long.
bool launch_sample_token(const SampleArgs& args, void* scratch, cudaStream_t stream);

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
  // Routing on the device: when set, the kernel runs only if *gate == gate_run (every block exits at once otherwise),
  // so a layer's FA and SA attention are both queued and the router's decision (router_decision_kernel) picks one.
  const int32_t* gate = nullptr;
  int32_t gate_run = 0;
};

// Returns false if head_dim has no compiled kernel (16, 32, 64, 128 do). Picks the first kernel that applies: the
// Hopper wgmma one (an sm_90a build on a compute-capability-9.0 device, head dim 64/128, block a multiple of 128),
// the mma.sync one (head dim 64/128, block a multiple of 16), the reference one; all need 16-byte aligned tensors but
// the reference. FLUX_PREFILL_KERNEL=mma or =simple caps the choice (A/B checks and benchmarks).
bool launch_attention_prefill(const PrefillArgs& args, cudaStream_t stream);
// The kernels behind it. The tensor-core ones return false (launching nothing) for shapes they do not cover.
bool launch_attention_prefill_wgmma(const PrefillArgs& args, cudaStream_t stream);
bool launch_attention_prefill_mma(const PrefillArgs& args, cudaStream_t stream);
bool launch_attention_prefill_simple(const PrefillArgs& args, cudaStream_t stream);
// True when this build has the sm_90a code and the current device can run it.
bool wgmma_prefill_available();
// True when the decode-step kernels launch chained (kernels/chained_launch.cuh): the device runs their sm_90+ code and
// FLUX_PDL is not 0.
bool chained_launches_active();

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
  // Rows attended: [0, n_slots); or, when pos is set, the rows layout.reads_at(*pos) gives, read when the kernel
  // runs, with n_slots the most they can be (it sizes the grid and the scratch, so one recorded launch serves every
  // step).
  int64_t n_slots = 0;
  const int64_t* pos = nullptr;
  engine::KvLayout layout;
  int n_heads = 1, n_kv_heads = 1, head_dim = 64;
  float scale = 1.0f;
  // Set (at least n_heads counters, all 0): the last stage-1 block of each grid row combines the row's splits, in
  // the same launch, and leaves its counter at 0 again; null: a combine kernel follows (the reference).
  unsigned* split_counters = nullptr;
};

// Split-KV decode, one block per (KV head, split) serving all the query heads of that KV head's group, so each K/V
// row is read once per group. `scratch` holds decode_scratch_floats(...) floats.
int64_t decode_scratch_floats(int64_t n_slots, int n_heads, int head_dim);
bool launch_attention_decode(const DecodeArgs& args, float* scratch, cudaStream_t stream);

}  // namespace flux::kernels
