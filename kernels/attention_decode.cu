// Split-KV decode attention (flash-decoding): partial softmax state per (head, split of kKeysPerSplit rows), then one
// combine per head. fp32 math on bf16 K/V; one warp per key for the dot product.
#include <cmath>

#include "kernels/launch.h"

namespace flux::kernels {
namespace {

constexpr int kKeysPerSplit = 256;
constexpr int kWarps = 4;

int64_t n_splits_for(int64_t n_slots) {
  return (n_slots + kKeysPerSplit - 1) / kKeysPerSplit;
}

// Scratch layout per (head, split): [max, sum, acc[D]].
template <int D>
__global__ void __launch_bounds__(kWarps * 32) decode_partial_kernel(DecodeArgs a, float* scratch, int64_t n_splits) {
  constexpr int kE = (D + 31) / 32;
  __shared__ float sm[kWarps], sl[kWarps], sacc[kWarps][D];
  const int h = blockIdx.y;
  const int64_t split = blockIdx.x;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = h / (a.n_heads / a.n_kv_heads);
  const int64_t ldk = int64_t{a.n_kv_heads} * D;
  float qv[kE], acc[kE];
  for (int x = 0; x < kE; ++x) {
    const int e = lane + 32 * x;
    qv[x] = e < D ? __bfloat162float(a.q[int64_t{h} * D + e]) : 0.0f;
    acc[x] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const int64_t j_end = min((split + 1) * kKeysPerSplit, a.n_slots);
  for (int64_t j = split * kKeysPerSplit + warp; j < j_end; j += kWarps) {
    const bf16* kj = a.k + j * ldk + int64_t{g} * D;
    const bf16* vj = a.v + j * ldk + int64_t{g} * D;
    float dot = 0.0f;
    for (int x = 0; x < kE; ++x) {
      const int e = lane + 32 * x;
      if (e < D) dot += qv[x] * __bfloat162float(kj[e]);
    }
    for (int off = 16; off > 0; off >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, off);
    const float s = dot * a.scale;
    const float m_new = fmaxf(m, s);
    const float alpha = expf(m - m_new), p = expf(s - m_new);
    l = l * alpha + p;
    m = m_new;
    for (int x = 0; x < kE; ++x) {
      const int e = lane + 32 * x;
      acc[x] = acc[x] * alpha + (e < D ? p * __bfloat162float(vj[e]) : 0.0f);
    }
  }
  if (lane == 0) sm[warp] = m, sl[warp] = l;
  for (int x = 0; x < kE; ++x) {
    const int e = lane + 32 * x;
    if (e < D) sacc[warp][e] = acc[x];
  }
  __syncthreads();
  float mx = -INFINITY;
  for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, sm[w]);
  float* out = scratch + (int64_t{h} * n_splits + split) * (D + 2);
  for (int e = threadIdx.x; e < D; e += blockDim.x) {
    float sum = 0.0f;
    for (int w = 0; w < kWarps; ++w) sum += sm[w] == -INFINITY ? 0.0f : sacc[w][e] * expf(sm[w] - mx);
    out[2 + e] = sum;
  }
  if (threadIdx.x == 0) {
    float total = 0.0f;
    for (int w = 0; w < kWarps; ++w) total += sm[w] == -INFINITY ? 0.0f : sl[w] * expf(sm[w] - mx);
    out[0] = mx;
    out[1] = total;
  }
}

template <int D>
__global__ void decode_combine_kernel(DecodeArgs a, const float* scratch, int64_t n_splits) {
  const int h = blockIdx.x;
  const float* base = scratch + int64_t{h} * n_splits * (D + 2);
  float mx = -INFINITY;
  for (int64_t s = 0; s < n_splits; ++s) mx = fmaxf(mx, base[s * (D + 2)]);
  float total = 0.0f;
  for (int64_t s = 0; s < n_splits; ++s) total += base[s * (D + 2) + 1] * expf(base[s * (D + 2)] - mx);
  for (int e = threadIdx.x; e < D; e += blockDim.x) {
    float sum = 0.0f;
    for (int64_t s = 0; s < n_splits; ++s) sum += base[s * (D + 2) + 2 + e] * expf(base[s * (D + 2)] - mx);
    a.out[int64_t{h} * D + e] = __float2bfloat16(sum / total);
  }
}

template <int D>
void launch_decode(const DecodeArgs& a, float* scratch, cudaStream_t stream) {
  const int64_t n_splits = n_splits_for(a.n_slots);
  const dim3 grid(static_cast<unsigned>(n_splits), static_cast<unsigned>(a.n_heads));
  decode_partial_kernel<D><<<grid, kWarps * 32, 0, stream>>>(a, scratch, n_splits);
  constexpr int kCombineThreads = D < 128 ? D : 128;
  decode_combine_kernel<D><<<a.n_heads, kCombineThreads, 0, stream>>>(a, scratch, n_splits);
}

}  // namespace

int64_t decode_scratch_floats(int64_t n_slots, int n_heads, int head_dim) {
  return n_splits_for(n_slots) * n_heads * (head_dim + 2);
}

bool launch_attention_decode(const DecodeArgs& args, float* scratch, cudaStream_t stream) {
  switch (args.head_dim) {
    case 16:
      launch_decode<16>(args, scratch, stream);
      return true;
    case 32:
      launch_decode<32>(args, scratch, stream);
      return true;
    case 64:
      launch_decode<64>(args, scratch, stream);
      return true;
    case 128:
      launch_decode<128>(args, scratch, stream);
      return true;
    default:
      return false;
  }
}

}  // namespace flux::kernels
