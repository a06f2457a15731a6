// A decode step's attention inputs in one launch: Qwen3's per-head RMSNorm of q and k, RoPE at the step's
// position, and the store of k and v into the cache row. Unfused these are five ~3 µs kernels per layer (two norms,
// two ropes, one store), each bound by its launch and one dependent load, not by its few kilobytes of data.
// One block per head (q heads first, then KV heads), one element per thread: the head's norm is a block reduction,
// the rotation pairs element i with i + d/2 through shared memory, and a KV head's block also copies its v head.
// The arithmetic is the unfused kernels' (launch_rms_norm, launch_rope with a device position, store_kv_step), in
// the same order and with the same bf16 roundings, so the two paths agree to the norm's summation order.
#include "kernels/chained_launch.cuh"
#include "kernels/launch.h"
#include "kernels/rms_scale.cuh"

namespace flux::kernels {
namespace {

__global__ void attention_inputs_step_kernel(AttentionInputsArgs a) {
  __shared__ float head[kMaxFusedHeadDim];
  chain_start();
  const bool is_k = static_cast<int>(blockIdx.x) >= a.n_heads;
  const int h = is_k ? static_cast<int>(blockIdx.x) - a.n_heads : static_cast<int>(blockIdx.x);
  const int d = a.head_dim, half = d / 2, c = static_cast<int>(threadIdx.x);
  bf16* x = (is_k ? a.k : a.q) + static_cast<int64_t>(h) * d;
  const bf16* norm = is_k ? a.k_norm : a.q_norm;
  float value = c < d ? __bfloat162float(x[c]) : 0.0f;
  if (norm != nullptr) {  // block-uniform: both weights or neither
    const float scale = rms_scale(value * value, d, a.eps);
    value = __bfloat162float(__float2bfloat16(value * scale * __bfloat162float(norm[c < d ? c : 0])));
  }
  if (c < d) head[c] = value;
  __syncthreads();

  const int64_t position = a.step->pos;
  const int64_t row = a.layout.slot_of(position) * a.kv_dim() + static_cast<int64_t>(h) * d;
  if (c < half) {
    const double freq = a.dynamic.active() ? engine::rope_inv_freq(a.dynamic.base(position + 1), c, d) : a.inv_freq[c];
    const float angle = static_cast<float>(static_cast<double>(position) * freq);
    const float cs = cosf(angle) * a.rope_scale, sn = sinf(angle) * a.rope_scale;
    const float lo = head[c], hi = head[c + half];
    const bf16 y_lo = __float2bfloat16(lo * cs - hi * sn), y_hi = __float2bfloat16(hi * cs + lo * sn);
    x[c] = y_lo;
    x[c + half] = y_hi;
    if (is_k) {
      a.cache_k[row + c] = y_lo;
      a.cache_k[row + c + half] = y_hi;
    }
  }
  if (is_k && c < d) a.cache_v[row + c] = a.v[static_cast<int64_t>(h) * d + c];
}

}  // namespace

bool launch_attention_inputs_step(const AttentionInputsArgs& args, cudaStream_t stream) {
  const int d = args.head_dim;
  if (d < 2 || d % 2 != 0 || d > kMaxFusedHeadDim || args.n_heads < 1 || args.n_kv_heads < 1) return false;
  if ((args.q_norm == nullptr) != (args.k_norm == nullptr)) return false;
  if (!args.dynamic.active() && args.inv_freq == nullptr) return false;
  const int threads = (d + 31) / 32 * 32;
  launch_chained(attention_inputs_step_kernel, static_cast<unsigned>(args.n_heads + args.n_kv_heads), threads, 0,
                 stream, args);
  return true;
}

}  // namespace flux::kernels
