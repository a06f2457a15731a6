// Kernels on GGML-block weights (kernels/quant_launch.h).
// The decode GEMV does what llama.cpp's mmvq does, in its own shape: the activations are quantized to int8 per 32
// values (scale d and d·Σq, "q8_1"), and each 32-weight unit is dotted with them by __dp4a on the unit's bytes
// (kernels/quant_blocks.cuh), the scales applied once per unit. That keeps the GEMV at a few integer instructions
// per weight byte, so it is bound by reading the blocks (Q4_K: 4.5 bits a weight instead of bf16's 16), where the
// earlier float decode (an int-to-float conversion and two FMAs per weight) was bound by instructions.
// Layout of the work: a block of 8 warps first quantizes x into shared memory (each block does it itself, so the
// launch needs no second kernel); then each warp streams whole rows, a chunk of 64 or 128 units at a time, through
// its own slice of shared memory: the chunk's bytes come in as coalesced 16-byte loads (up to 6 per lane in flight;
// the next chunk's are issued before the current one is used), and from there every lane decodes its units with
// the loads each layout's alignment allows (Q4_K / Q5_K rows are 16-byte aligned, Q4_0's blocks only 2-byte).
#include "kernels/bf16_vec.cuh"
#include "kernels/chained_launch.cuh"
#include "kernels/quant_blocks.cuh"
#include "kernels/rms_scale.cuh"

namespace flux::kernels {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int kStageVecsPerLane = 6;  // a staged chunk is at most 2,560 bytes plus 15 of alignment
constexpr int kStageVecs = kStageVecsPerLane * 32;
constexpr int kBlocksPerSm = 3;  // resident at <= 80 registers (no spills); the grid cap: more rows, more per warp

__host__ __device__ constexpr int units_per_block(QuantType t) {
  return quant_block_elems(t) / kQuantUnit;
}
// Units a warp takes at once: 128 where that is at most 2,560 bytes (Q4_0, Q4_1, Q4_K), else 64.
__host__ __device__ constexpr int chunk_units(QuantType t) {
  return 128 * quant_block_bytes(t) / units_per_block(t) <= 2560 ? 128 : 64;
}
__device__ __forceinline__ int chunk_units_of(QuantType t) {
  switch (t) {
    case QuantType::Q4_0: return chunk_units(QuantType::Q4_0);
    case QuantType::Q4_1: return chunk_units(QuantType::Q4_1);
    case QuantType::Q5_0: return chunk_units(QuantType::Q5_0);
    case QuantType::Q5_1: return chunk_units(QuantType::Q5_1);
    case QuantType::Q8_0: return chunk_units(QuantType::Q8_0);
    case QuantType::Q4_K: return chunk_units(QuantType::Q4_K);
    case QuantType::Q5_K: return chunk_units(QuantType::Q5_K);
    case QuantType::Q6_K: return chunk_units(QuantType::Q6_K);
  }
  return 64;
}

// One chunk of one row: the 16-byte aligned window that covers its bytes.
struct Chunk {
  const uint4* src = nullptr;
  int vecs = 0;     // 16-byte words in the window
  int off = 0;      // the chunk's first byte in the window
  int units = 0;    // units in the chunk
  int chunks = 0;   // chunks in the row
  int64_t unit0 = 0;  // the chunk's first unit in the row
  QuantType type = QuantType::Q8_0;
};

// Output row r of the job: the matrix it falls in (Store / Accumulate: the matrices laid end to end) and its row
// there. Unrolled compares: indexing job's arrays would copy it to local memory.
struct RowRef {
  QuantMatrix w;
  __nv_bfloat16* y;
  int64_t row;
};
template <int E>
__device__ __forceinline__ RowRef row_ref(const QuantGemvJob& job, int64_t r, int seg) {
  RowRef ref{job.w[0], job.y[0], r};
  if constexpr (E == 2) {
    if (seg == 1) ref.w = job.w[1];
  } else {
#pragma unroll
    for (int i = 1; i < kMaxQuantGemvMatrices; ++i)
      if (i < job.count && ref.row >= ref.w.rows) {
        ref.row -= ref.w.rows;
        ref.w = job.w[i];
        ref.y = job.y[i];
      }
  }
  return ref;
}

template <int E>
__device__ __forceinline__ Chunk make_chunk(const QuantGemvJob& job, int64_t r, int seg, int c, int64_t units) {
  const RowRef ref = row_ref<E>(job, r, seg);
  Chunk ch;
  ch.type = ref.w.type;
  const int per = chunk_units_of(ch.type);
  const int upb = units_per_block(ch.type), bb = quant_block_bytes(ch.type);
  ch.chunks = static_cast<int>((units + per - 1) / per);
  ch.unit0 = int64_t{c} * per;
  ch.units = static_cast<int>(min(int64_t{per}, units - ch.unit0));
  const auto start = reinterpret_cast<std::uintptr_t>(ref.w.blocks) + ref.row * ref.w.row_bytes +
                     ch.unit0 / upb * bb;
  const int bytes = ch.units / upb * bb;  // K-type chunks are whole blocks (units is a multiple of 8 there)
  ch.off = static_cast<int>(start % 16);
  ch.src = reinterpret_cast<const uint4*>(start - ch.off);
  ch.vecs = (ch.off + bytes + 15) / 16;
  return ch;
}

// The weights are never written during a run: this may run before chain_start().
__device__ __forceinline__ void fetch(const Chunk& ch, int lane, uint4 (&regs)[kStageVecsPerLane]) {
#pragma unroll
  for (int k = 0; k < kStageVecsPerLane; ++k)
    if (k * 32 + lane < ch.vecs) regs[k] = __ldcs(ch.src + k * 32 + lane);
}

// x [in] bf16 → xq int8 [in] and per 32 values (d, d·Σq) with x ≈ d·q, |q| <= 127. Four threads per unit, eight
// values (one 16-byte word) each; whole warps iterate so the shuffles see every lane. With norm, x is first
// normalised by it (the block sums the squares, then each word is scaled as the norm kernel would store it).
__device__ __forceinline__ void quantize_x(const __nv_bfloat16* __restrict__ x, int64_t in,
                                           const __nv_bfloat16* __restrict__ norm, float eps, int8_t* xq,
                                           float2* xds) {
  const int64_t words = in / kBf16PerVec;
  const int lane = static_cast<int>(threadIdx.x % 32);
  const uint4* xw = reinterpret_cast<const uint4*>(x);
  float scale = 1.0f;
  if (norm != nullptr) {  // block-uniform
    float ss = 0.0f;
    for (int64_t t = threadIdx.x; t < words; t += kThreads) ss += squares_bf16x8(__ldg(xw + t));
    scale = rms_scale(ss, in, eps);
  }
  for (int64_t base = threadIdx.x - lane; base < words; base += kThreads) {
    const int64_t t = base + lane;
    const bool ok = t < words;
    float v[kBf16PerVec] = {};
    if (ok) {
      const uint4 word = __ldg(xw + t);
      unpack_bf16x8(norm != nullptr ? normalize_bf16x8(word, __ldg(reinterpret_cast<const uint4*>(norm) + t), scale)
                                    : word,
                    v);
    }
    float amax = 0.0f;
#pragma unroll
    for (int e = 0; e < kBf16PerVec; ++e) amax = fmaxf(amax, fabsf(v[e]));
    amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 1));
    amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 2));
    const float d = amax / 127.0f, inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    uint32_t packed[2] = {0, 0};
    int sum = 0;
#pragma unroll
    for (int e = 0; e < kBf16PerVec; ++e) {
      const int q = __float2int_rn(v[e] * inv);
      sum += q;
      packed[e / 4] |= (static_cast<uint32_t>(q) & 0xFFu) << ((e % 4) * 8);
    }
    sum += __shfl_xor_sync(0xffffffffu, sum, 1);
    sum += __shfl_xor_sync(0xffffffffu, sum, 2);
    if (!ok) continue;
    reinterpret_cast<uint2*>(xq)[t] = make_uint2(packed[0], packed[1]);
    if (t % 4 == 0) xds[t / 4] = make_float2(d, d * static_cast<float>(sum));
  }
}

// Σ over this lane's units of the chunk (bytes: the staged chunk in shared memory) of w·x.
template <QuantType T>
__device__ __forceinline__ float dot_units(const uint8_t* bytes, const Chunk& ch, const int8_t* xq,
                                           const float2* xds, int lane) {
  constexpr int kUpb = units_per_block(T);
  float acc = 0.0f;
#pragma unroll 1
  for (int u = lane; u < ch.units; u += 32) {
    const UnitInts w = unit_ints<T>(bytes + (u / kUpb) * quant_block_bytes(T), u % kUpb);
    const int64_t g = ch.unit0 + u;
    const int4* xv = reinterpret_cast<const int4*>(xq + g * kQuantUnit);
    const int4 x0 = xv[0], x1 = xv[1];
    const float2 ds = xds[g];
    int s0 = __dp4a(w.q[0], x0.x, 0);
    s0 = __dp4a(w.q[1], x0.y, s0);
    s0 = __dp4a(w.q[2], x0.z, s0);
    s0 = __dp4a(w.q[3], x0.w, s0);
    int s1 = __dp4a(w.q[4], x1.x, 0);
    s1 = __dp4a(w.q[5], x1.y, s1);
    s1 = __dp4a(w.q[6], x1.z, s1);
    s1 = __dp4a(w.q[7], x1.w, s1);
    acc += ds.x * (w.a0 * static_cast<float>(s0) + w.a1 * static_cast<float>(s1)) + w.b * ds.y;
  }
  return acc;
}

__device__ __forceinline__ float dot_chunk(const uint8_t* bytes, const Chunk& ch, const int8_t* xq,
                                           const float2* xds, int lane) {
  switch (ch.type) {  // warp-uniform: a warp works on one row of one matrix
    case QuantType::Q4_0: return dot_units<QuantType::Q4_0>(bytes, ch, xq, xds, lane);
    case QuantType::Q4_1: return dot_units<QuantType::Q4_1>(bytes, ch, xq, xds, lane);
    case QuantType::Q5_0: return dot_units<QuantType::Q5_0>(bytes, ch, xq, xds, lane);
    case QuantType::Q5_1: return dot_units<QuantType::Q5_1>(bytes, ch, xq, xds, lane);
    case QuantType::Q8_0: return dot_units<QuantType::Q8_0>(bytes, ch, xq, xds, lane);
    case QuantType::Q4_K: return dot_units<QuantType::Q4_K>(bytes, ch, xq, xds, lane);
    case QuantType::Q5_K: return dot_units<QuantType::Q5_K>(bytes, ch, xq, xds, lane);
    case QuantType::Q6_K: return dot_units<QuantType::Q6_K>(bytes, ch, xq, xds, lane);
  }
  return 0.0f;
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

std::size_t shared_bytes(int64_t in) {
  return sizeof(uint4) * kWarps * kStageVecs + static_cast<std::size_t>(in) + sizeof(float2) * (in / kQuantUnit);
}

// Epilogue as in launch_quant_gemv: 0 Store, 1 Accumulate, 2 SwiGLU (segment 0 the gate row, 1 the up row).
// `rows`: output rows; warps take rows r, r + all warps, ...
template <int E>
__global__ void __launch_bounds__(kThreads, kBlocksPerSm)
    quant_gemv_kernel(const __nv_bfloat16* __restrict__ x, QuantGemvJob job, int64_t in, int64_t rows) {
  constexpr int kSegments = E == 2 ? 2 : 1;
  extern __shared__ uint4 smem[];
  const int warp = static_cast<int>(threadIdx.x / 32), lane = static_cast<int>(threadIdx.x % 32);
  uint4* stage = smem + warp * kStageVecs;
  auto* xq = reinterpret_cast<int8_t*>(smem + kWarps * kStageVecs);
  auto* xds = reinterpret_cast<float2*>(xq + in);
  const int64_t units = in / kQuantUnit;
  const int64_t stride = int64_t{gridDim.x} * kWarps;
  int64_t r = blockIdx.x * int64_t{kWarps} + warp;
  int seg = 0, c = 0;
  Chunk cur = r < rows ? make_chunk<E>(job, r, 0, 0, units) : Chunk{};
  uint4 regs[kStageVecsPerLane];
  fetch(cur, lane, regs);  // in flight while the previous kernel finishes and x is quantized
  chain_start();
  quantize_x(x, in, job.norm, job.eps, xq, xds);
  __syncthreads();
  float acc = 0.0f, acc_up = 0.0f;
  while (r < rows) {
#pragma unroll
    for (int k = 0; k < kStageVecsPerLane; ++k)
      if (k * 32 + lane < cur.vecs) stage[k * 32 + lane] = regs[k];
    __syncwarp();
    int64_t nr = r;
    int nseg = seg, nc = c + 1;
    if (nc == cur.chunks) {
      nc = 0;
      if (++nseg == kSegments) nseg = 0, nr += stride;
    }
    const Chunk next = nr < rows ? make_chunk<E>(job, nr, nseg, nc, units) : Chunk{};
    fetch(next, lane, regs);
    const float part = dot_chunk(reinterpret_cast<const uint8_t*>(stage) + cur.off, cur, xq, xds, lane);
    if (seg == 0) acc += part;
    else acc_up += part;
    __syncwarp();  // every lane is done with the stage before the next chunk overwrites it
    if (nr != r) {
      float v = warp_sum(acc);
      if constexpr (E == 2) {
        const float up = warp_sum(acc_up);
        v = v / (1.0f + __expf(-v)) * up;
      }
      if (lane == 0) {
        const RowRef ref = row_ref<E>(job, r, 0);
        if constexpr (E == 1) v += __bfloat162float(ref.y[ref.row]);
        ref.y[ref.row] = __float2bfloat16(v);
      }
      acc = acc_up = 0.0f;
    }
    r = nr, seg = nseg, c = nc, cur = next;
  }
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

int multiprocessors() {
  static const int n = [] {
    int device = 0, count = 0;
    if (cudaGetDevice(&device) != cudaSuccess ||
        cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) {
      (void)cudaGetLastError();
      return 132;
    }
    return count;
  }();
  return n;
}

template <int E>
void launch_kernel(unsigned blocks, std::size_t smem, cudaStream_t stream, const __nv_bfloat16* x,
                   const QuantGemvJob& job, int64_t in, int64_t rows) {
  // Past 48 KB of shared memory (in > ~18K) a kernel must opt in; once per kernel, to the most launch_quant_gemv
  // accepts.
  static const bool opted_in =
      cudaFuncSetAttribute(quant_gemv_kernel<E>, cudaFuncAttributeMaxDynamicSharedMemorySize, 200 * 1024) ==
      cudaSuccess;
  if (!opted_in) (void)cudaGetLastError();
  launch_chained(quant_gemv_kernel<E>, blocks, kThreads, smem, stream, x, job, in, rows);
}

}  // namespace

bool launch_quant_gemv(const __nv_bfloat16* x, const QuantGemvJob& job, int epilogue, int64_t in,
                       cudaStream_t stream) {
  if (in % kQuantUnit != 0 || !aligned16(x) || job.count < 1 || job.count > kMaxQuantGemvMatrices) return false;
  if (job.norm != nullptr && !aligned16(job.norm)) return false;
  const std::size_t smem = shared_bytes(in);
  if (smem > 200 * 1024) return false;
  int64_t rows = 0;
  for (int m = 0; m < job.count; ++m) {
    if (!aligned16(job.w[m].blocks)) return false;  // the alignment every layout's loads assume
    rows += job.w[m].rows;
  }
  if (epilogue == 2) rows = job.w[0].rows;
  if (rows == 0) return true;
  const int64_t warps_cap = int64_t{multiprocessors()} * kBlocksPerSm * kWarps;
  const int64_t rows_per_warp = (rows + warps_cap - 1) / warps_cap;
  const auto blocks = static_cast<unsigned>((rows + rows_per_warp * kWarps - 1) / (rows_per_warp * kWarps));
  switch (epilogue) {
    case 0: launch_kernel<0>(blocks, smem, stream, x, job, in, rows); break;
    case 1: launch_kernel<1>(blocks, smem, stream, x, job, in, rows); break;
    default: launch_kernel<2>(blocks, smem, stream, x, job, in, rows); break;
  }
  return true;
}

void launch_dequantize_rows(const QuantMatrix& w, int64_t cols, const int32_t* ids, int64_t n, __nv_bfloat16* out,
                            cudaStream_t stream) {
  const int64_t threads = n * (cols / kQuantUnit);
  if (threads <= 0) return;
  constexpr int kDequantThreads = 256;
  const auto blocks = static_cast<unsigned>((threads + kDequantThreads - 1) / kDequantThreads);
  launch_chained(dequantize_rows_kernel, blocks, kDequantThreads, 0, stream, w, cols, ids, n, out);
}

}  // namespace flux::kernels
