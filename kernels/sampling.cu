// Token sampling on the device: only the sampled id leaves the GPU. Stage 1: each block takes a slice of the
// vocabulary into shared memory, applies the repetition penalty, and extracts its top-k by k rounds of a block argmax
// (k <= 256, slices of 2048: cheap next to one decode step). Stage 2: one block merges the candidates the same way,
// then one thread does softmax / top-p / inverse CDF over at most 256 sorted values, in the order and precision of
// sample_token_reference (engine/backend/token_sampling.cpp).
#include <cmath>
#include <cstdint>

#include "kernels/launch.h"

namespace flux::kernels {
namespace {

constexpr int kSlice = 2048;
constexpr int kStage1Threads = 256;
constexpr int kStage2Threads = 1024;
constexpr int kMaxPenalized = 4096;

// Candidate order: higher value first, then lower id; NaN (taken or invalid) after everything.
__device__ bool better(float va, int32_t ia, float vb, int32_t ib) {
  if (isnan(vb)) return !isnan(va) || ia < ib;
  if (isnan(va)) return false;
  return va > vb || (va == vb && ia < ib);
}

// Block-wide best (value, id); every thread gets the result. `sv`/`si` hold one entry per warp.
__device__ void block_best(float& v, int32_t& id, float* sv, int32_t* si) {
  for (int off = 16; off > 0; off >>= 1) {
    const float ov = __shfl_xor_sync(0xffffffffu, v, off);
    const int32_t oi = __shfl_xor_sync(0xffffffffu, id, off);
    if (better(ov, oi, v, id)) v = ov, id = oi;
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, n_warps = blockDim.x / 32;
  __syncthreads();  // sv/si may still be read from the previous round
  if (lane == 0) sv[warp] = v, si[warp] = id;
  __syncthreads();
  v = sv[0], id = si[0];
  for (int w = 1; w < n_warps; ++w)
    if (better(sv[w], si[w], v, id)) v = sv[w], id = si[w];
}

__global__ void candidates_kernel(SampleArgs a, float* cand_val, int32_t* cand_id) {
  __shared__ float vals[kSlice];
  __shared__ float sv[32];
  __shared__ int32_t si[32];
  const int64_t base = int64_t{blockIdx.x} * kSlice;
  const int len = static_cast<int>(a.vocab - base < kSlice ? a.vocab - base : kSlice);
  for (int i = threadIdx.x; i < kSlice; i += blockDim.x) vals[i] = i < len ? __bfloat162float(a.logits[base + i]) : NAN;
  __syncthreads();
  for (int t = threadIdx.x; t < a.n_penalized; t += blockDim.x) {  // ids are distinct: no two threads share a slot
    const int64_t id = a.penalized[t];
    if (id < base || id >= base + len) continue;
    float& l = vals[id - base];
    l = l > 0.0f ? l / a.penalty : l * a.penalty;
  }
  __syncthreads();
  for (int r = 0; r < a.top_k; ++r) {
    float v = NAN;
    int32_t id = INT32_MAX;
    for (int i = threadIdx.x; i < len; i += blockDim.x)
      if (better(vals[i], static_cast<int32_t>(base + i), v, id)) v = vals[i], id = static_cast<int32_t>(base + i);
    block_best(v, id, sv, si);
    if (threadIdx.x == 0) {
      cand_val[int64_t{blockIdx.x} * a.top_k + r] = v;
      cand_id[int64_t{blockIdx.x} * a.top_k + r] = isnan(v) ? INT32_MAX : id;
      if (!isnan(v)) vals[id - base] = NAN;  // taken
    }
    __syncthreads();
  }
}

__global__ void pick_kernel(SampleArgs a, float* cand_val, const int32_t* cand_id, int n_cand) {
  __shared__ float top_val[kMaxDeviceTopK];
  __shared__ int32_t top_id[kMaxDeviceTopK];
  __shared__ float sv[32];
  __shared__ int32_t si[32];
  __shared__ int32_t taken_at;
  int found = 0;
  for (int r = 0; r < a.top_k; ++r) {
    float v = NAN;
    int32_t id = INT32_MAX;
    int at = -1;
    for (int i = threadIdx.x; i < n_cand; i += blockDim.x)
      if (better(cand_val[i], cand_id[i], v, id)) v = cand_val[i], id = cand_id[i], at = i;
    const int32_t my_id = id;
    block_best(v, id, sv, si);
    if (isnan(v)) break;                        // fewer valid logits than k
    if (my_id == id && at >= 0) taken_at = at;  // ids are unique: exactly one thread holds the winner
    __syncthreads();
    if (threadIdx.x == 0) {
      top_val[r] = v;
      top_id[r] = id;
      cand_val[taken_at] = NAN;
    }
    __syncthreads();
    found = r + 1;
  }
  if (threadIdx.x != 0) return;
  if (found == 0) {  // every logit NaN: a defined answer rather than garbage
    *a.out_id = 0;
    return;
  }
  if (a.temperature <= 0.0f) {
    *a.out_id = top_id[0];
    return;
  }
  const float best = top_val[0];  // kept apart: the loop below overwrites top_val[0] first
  float sum = 0.0f;
  for (int i = 0; i < found; ++i) {
    top_val[i] = expf((top_val[i] - best) / a.temperature);  // reuse as probabilities
    sum += top_val[i];
  }
  int keep = found;
  float cumulative = 0.0f;
  for (int i = 0; i < found; ++i) {
    cumulative += top_val[i];
    if (cumulative >= a.top_p * sum) {
      keep = i + 1;
      break;
    }
  }
  float kept = 0.0f;
  for (int i = 0; i < keep; ++i) kept += top_val[i];
  const float target = a.uniform * kept;
  float acc = 0.0f;
  for (int i = 0; i < keep; ++i) {
    acc += top_val[i];
    if (acc > target) {
      *a.out_id = top_id[i];
      return;
    }
  }
  *a.out_id = top_id[keep - 1];
}

int64_t n_slices(int64_t vocab) {
  return (vocab + kSlice - 1) / kSlice;
}

}  // namespace

int64_t sample_scratch_bytes(int64_t vocab, int top_k) {
  return n_slices(vocab) * top_k * static_cast<int64_t>(sizeof(float) + sizeof(int32_t));
}

bool launch_sample_token(const SampleArgs& a, void* scratch, cudaStream_t stream) {
  if (a.top_k < 1 || a.top_k > kMaxDeviceTopK || a.vocab < 1 || a.n_penalized > kMaxPenalized) return false;
  const int64_t blocks = n_slices(a.vocab);
  auto* cand_val = static_cast<float*>(scratch);
  auto* cand_id = reinterpret_cast<int32_t*>(cand_val + blocks * a.top_k);
  candidates_kernel<<<static_cast<unsigned>(blocks), kStage1Threads, 0, stream>>>(a, cand_val, cand_id);
  pick_kernel<<<1, kStage2Threads, 0, stream>>>(a, cand_val, cand_id, static_cast<int>(blocks * a.top_k));
  return true;
}

}  // namespace flux::kernels
