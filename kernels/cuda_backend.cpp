#include "kernels/cuda_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "engine/backend/cuda_factory.h"
#include "kernels/cuda_check.h"
#include "kernels/launch.h"

namespace flux::kernels {
namespace {

using engine::require;

bf16* bf(Tensor& t) {
  return static_cast<bf16*>(t.data);
}
const bf16* bf(const Tensor& t) {
  return static_cast<const bf16*>(t.data);
}

void require_shape(const Tensor& t, int64_t rows, int64_t cols, const char* what) {
  require(t.rows == rows && t.cols == cols, "cuda backend: {} has shape [{}, {}], expected [{}, {}]", what, t.rows,
          t.cols, rows, cols);
}

// fp32 -> bf16 bits, round to nearest even; NaN stays NaN (quiet).
uint16_t to_bf16_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

float from_bf16_bits(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

}  // namespace

CudaContext::~CudaContext() {
  if (stream) {
    cudaStreamSynchronize(stream);
    cudaStreamDestroy(stream);
  }
}

// Events are recycled: a prefill marks every layer, its attention and its router, and creating and destroying an
// event per mark is host work the GPU waits on when it runs as fast as the host queues.
struct CudaBackend::EventPool {
  std::mutex mutex;
  std::vector<cudaEvent_t> free;
  ~EventPool() {
    for (cudaEvent_t e : free) cudaEventDestroy(e);
  }
};

CudaBackend::CudaBackend() : ctx_(std::make_shared<CudaContext>()), events_(std::make_shared<EventPool>()) {
  int count = 0;
  FLUX_CUDA_CHECK(cudaGetDeviceCount(&count));
  require(count > 0, "cuda backend: no CUDA device found");
  FLUX_CUDA_CHECK(cudaGetDevice(&ctx_->device));
  cudaDeviceProp prop{};
  FLUX_CUDA_CHECK(cudaGetDeviceProperties(&prop, ctx_->device));
  device_name_ = prop.name;
  FLUX_CUDA_CHECK(cudaStreamCreateWithFlags(&ctx_->stream, cudaStreamNonBlocking));
  // Keep freed blocks in the pool: decode allocates the same activation sizes every step.
  cudaMemPool_t pool = nullptr;
  FLUX_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, ctx_->device));
  uint64_t threshold = std::numeric_limits<uint64_t>::max();
  FLUX_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
  gemm_ = std::make_unique<LtGemm>(ctx_->stream);
  const char* gemv = std::getenv("FLUX_GEMV");
  use_gemv_ = gemv == nullptr || std::strcmp(gemv, "0") != 0;
  const char* fused = std::getenv("FLUX_CUDA_FUSED");
  fused_decode_ = fused == nullptr || std::strcmp(fused, "0") != 0;
  const char* routing = std::getenv("FLUX_DEVICE_ROUTING");
  device_routing_ = routing == nullptr || std::strcmp(routing, "0") != 0;
  const char* router = std::getenv("FLUX_ROUTER_FUSED");
  fused_router_ = router == nullptr || std::strcmp(router, "0") != 0;
  if (fused_decode_) {  // zero once; every fused decode attention leaves them at zero (DecodeArgs::split_counters)
    split_counters_ = allocate(kMaxSplitCounters * sizeof(unsigned));
    FLUX_CUDA_CHECK(cudaMemsetAsync(split_counters_.get(), 0, kMaxSplitCounters * sizeof(unsigned), ctx_->stream));
  }
}

CudaBackend::~CudaBackend() {
  cudaStreamSynchronize(ctx_->stream);
}

std::shared_ptr<void> CudaBackend::allocate(std::size_t bytes) {
  bytes = std::max<std::size_t>(bytes, 256);
  void* p = nullptr;
  cudaError_t err = cudaMallocAsync(&p, bytes, ctx_->stream);
  if (err == cudaErrorMemoryAllocation) {  // memory cached by the pools may be what is missing: return it, retry once
    cudaGetLastError();
    release_cached_memory();
    err = cudaMallocAsync(&p, bytes, ctx_->stream);
  }
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    std::size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    engine::fail("CUDA out of memory allocating {} bytes (free {} of {})", bytes, free_bytes, total_bytes);
  }
  FLUX_CUDA_CHECK(err);
  std::shared_ptr<CudaContext> ctx = ctx_;
  return std::shared_ptr<void>(p, [ctx](void* q) { cudaFreeAsync(q, ctx->stream); });
}

Tensor CudaBackend::empty(int64_t rows, int64_t cols) {
  require(rows >= 0 && cols >= 0, "cuda backend: negative tensor shape [{}, {}]", rows, cols);
  Tensor t;
  t.storage = allocate(static_cast<std::size_t>(rows * cols) * sizeof(bf16));
  t.data = t.storage.get();
  t.dtype = engine::DType::BF16;
  t.rows = rows;
  t.cols = cols;
  return t;
}

Tensor CudaBackend::upload(std::span<const float> host, int64_t rows, int64_t cols) {
  require(static_cast<int64_t>(host.size()) == rows * cols, "cuda backend: upload of {} values into [{}, {}]",
          host.size(), rows, cols);
  Tensor t = empty(rows, cols);
  std::vector<uint16_t> bits(host.size());
  for (std::size_t i = 0; i < host.size(); ++i) bits[i] = to_bf16_bits(host[i]);
  FLUX_CUDA_CHECK(
      cudaMemcpyAsync(t.data, bits.data(), bits.size() * sizeof(uint16_t), cudaMemcpyHostToDevice, ctx_->stream));
  FLUX_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));  // `bits` dies here
  return t;
}

std::vector<float> CudaBackend::download_rows(const Tensor& t) {
  std::vector<uint16_t> bits(static_cast<std::size_t>(t.numel()));
  FLUX_CUDA_CHECK(
      cudaMemcpyAsync(bits.data(), t.data, bits.size() * sizeof(uint16_t), cudaMemcpyDeviceToHost, ctx_->stream));
  FLUX_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
  std::vector<float> out(bits.size());
  for (std::size_t i = 0; i < bits.size(); ++i) out[i] = from_bf16_bits(bits[i]);
  return out;
}

void CudaBackend::download(const Tensor& t, std::span<float> host) {
  require(static_cast<int64_t>(host.size()) == t.numel(), "cuda backend: download of [{}, {}] into {} values", t.rows,
          t.cols, host.size());
  const std::vector<float> values = download_rows(t);
  std::memcpy(host.data(), values.data(), host.size_bytes());
}

Tensor CudaBackend::row_view(const Tensor& t, int64_t row0, int64_t n) {
  require(row0 >= 0 && n >= 0 && row0 + n <= t.rows, "cuda backend: row view [{}, {}) of a {}-row tensor", row0,
          row0 + n, t.rows);
  Tensor v = t;
  v.data = const_cast<bf16*>(bf(t)) + row0 * t.cols;
  v.rows = n;
  return v;
}

void CudaBackend::write_rows(Tensor& dst, int64_t dst_row0, const Tensor& src) {
  copy_rows(src, 0, dst, dst_row0, src.rows);
}

void CudaBackend::copy_rows(const Tensor& src, int64_t src_row0, Tensor& dst, int64_t dst_row0, int64_t n) {
  require(src.cols == dst.cols && src_row0 >= 0 && dst_row0 >= 0 && n >= 0 && src_row0 + n <= src.rows &&
              dst_row0 + n <= dst.rows,
          "cuda backend: copy of rows [{}, +{}) into [{}, +{}) out of bounds", src_row0, n, dst_row0, n);
  const std::size_t bytes = static_cast<std::size_t>(n * src.cols) * sizeof(bf16);
  if (bytes == 0) return;
  const bf16* from = bf(src) + src_row0 * src.cols;
  bf16* to = bf(dst) + dst_row0 * dst.cols;
  if (from == to) return;
  if (from < to + n * dst.cols && to < from + n * src.cols) {  // overlap: memmove semantics through a staging copy
    std::shared_ptr<void> stage = allocate(bytes);
    FLUX_CUDA_CHECK(cudaMemcpyAsync(stage.get(), from, bytes, cudaMemcpyDeviceToDevice, ctx_->stream));
    FLUX_CUDA_CHECK(cudaMemcpyAsync(to, stage.get(), bytes, cudaMemcpyDeviceToDevice, ctx_->stream));
    return;
  }
  FLUX_CUDA_CHECK(cudaMemcpyAsync(to, from, bytes, cudaMemcpyDeviceToDevice, ctx_->stream));
}

void CudaBackend::embed(const Tensor& table, std::span<const int32_t> ids, Tensor& out) {
  require_shape(out, static_cast<int64_t>(ids.size()), table.cols, "embedding output");
  for (const int32_t id : ids)
    require(id >= 0 && id < table.rows, "token id {} is outside the vocabulary (0..{})", id, table.rows - 1);
  if (ids.empty()) return;
  std::shared_ptr<void> dev_ids = allocate(ids.size_bytes());
  // Pageable source: the call returns once the ids are staged, so the span may go away after it.
  FLUX_CUDA_CHECK(cudaMemcpyAsync(dev_ids.get(), ids.data(), ids.size_bytes(), cudaMemcpyHostToDevice, ctx_->stream));
  if (table.dtype != engine::DType::BF16) {
    embed_rows(table, static_cast<const int32_t*>(dev_ids.get()), static_cast<int64_t>(ids.size()), out);
    return;
  }
  launch_embed(bf(table), table.cols, static_cast<const int32_t*>(dev_ids.get()), static_cast<int64_t>(ids.size()),
               bf(out), ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("embed");
}

void CudaBackend::rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  require_shape(out, x.rows, x.cols, "rms_norm output");
  require(weight.numel() == x.cols, "cuda backend: rms_norm weight of {} values for {} columns", weight.numel(),
          x.cols);
  launch_rms_norm(bf(x), bf(weight), eps, x.rows, x.cols, bf(out), ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("rms_norm");
}

void CudaBackend::head_rms_norm(Tensor& x, const Tensor& weight, int head_dim, float eps) {
  require(head_dim > 0 && x.cols % head_dim == 0 && weight.numel() == head_dim,
          "cuda backend: head_rms_norm shape mismatch");
  launch_rms_norm(bf(x), bf(weight), eps, x.rows * (x.cols / head_dim), head_dim, bf(x), ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("head_rms_norm");
}

void CudaBackend::matmul(const Tensor& x, const Tensor& w, Tensor& out) {
  require(x.cols == w.cols, "cuda backend: matmul inner dimensions differ ({} vs {})", x.cols, w.cols);
  require_shape(out, x.rows, w.rows, "matmul output");
  if (w.dtype != engine::DType::BF16) {  // block weights (kernels/cuda_quant_weights.cpp)
    const Tensor* ws[] = {&w};
    Tensor* ys[] = {&out};
    if (quant_gemv(x, ws, ys, 1, GemvEpilogue::Store)) return;
    const Tensor wd = dequantized(w);
    gemm_->run(x.data, wd.data, out.data, x.rows, x.cols, w.rows);
    return;
  }
  if (use_gemv_ && launch_gemv(bf(x), bf(w), bf(out), x.rows, x.cols, w.rows, ctx_->stream)) {
    FLUX_CUDA_CHECK_LAUNCH("gemv");
    return;
  }
  gemm_->run(x.data, w.data, out.data, x.rows, x.cols, w.rows);
}

bool CudaBackend::fused_gemv(const Tensor& x, const Tensor* const* w, Tensor* const* y, int count,
                             GemvEpilogue e, const GemvNorm* norm) {
  for (int m = 0; m < count; ++m)
    if (w[m]->dtype != engine::DType::BF16) return quant_gemv(x, w, y, count, e, norm);
  GemvJob job;
  job.count = count;
  if (norm != nullptr) {
    job.norm = bf(*norm->weight);
    job.eps = norm->eps;
  }
  for (int m = 0; m < count; ++m) {
    require(w[m]->cols == x.cols, "cuda backend: matmul inner dimensions differ ({} vs {})", x.cols, w[m]->cols);
    job.w[m] = bf(*w[m]);
    job.out[m] = w[m]->rows;
  }
  const int outputs = e == GemvEpilogue::SwiGLU ? 1 : count;
  for (int m = 0; m < outputs; ++m) {
    require_shape(*y[m], x.rows, job.out[m], "matmul output");
    job.y[m] = bf(*y[m]);
  }
  if (!use_gemv_ || !launch_gemv(bf(x), job, e, x.rows, x.cols, ctx_->stream)) return false;
  FLUX_CUDA_CHECK_LAUNCH("fused gemv");
  return true;
}

bool CudaBackend::norm_gemv(const Tensor& x, const Tensor& norm, float eps, const Tensor* const* w, Tensor* const* y,
                            int count, GemvEpilogue epilogue) {
  require(norm.numel() == x.cols, "cuda backend: norm weight of {} values for {} columns", norm.numel(), x.cols);
  if (!fused_decode_ || norm.dtype != engine::DType::BF16) return false;
  const GemvNorm n{&norm, eps};
  return fused_gemv(x, w, y, count, epilogue, &n);
}

void CudaBackend::norm_matmul(const Tensor& x, const Tensor& norm, float eps, const Tensor& w, Tensor& out) {
  require_shape(out, x.rows, w.rows, "matmul output");
  const Tensor* ws[] = {&w};
  Tensor* ys[] = {&out};
  if (!norm_gemv(x, norm, eps, ws, ys, 1, GemvEpilogue::Store)) Backend::norm_matmul(x, norm, eps, w, out);
}

void CudaBackend::norm_matmul_swiglu(const Tensor& x, const Tensor& norm, float eps, const Tensor& gate,
                                     const Tensor& up, Tensor& out) {
  require(gate.rows == up.rows, "cuda backend: gate has {} rows, up {}", gate.rows, up.rows);
  const Tensor* ws[] = {&gate, &up};
  Tensor* ys[] = {&out};
  if (!norm_gemv(x, norm, eps, ws, ys, 2, GemvEpilogue::SwiGLU))
    Backend::norm_matmul_swiglu(x, norm, eps, gate, up, out);
}

void CudaBackend::norm_matmul_qkv(const Tensor& x, const Tensor& norm, float eps, const Tensor& wq, const Tensor& wk,
                                  const Tensor& wv, Tensor& q, Tensor& k, Tensor& v) {
  const Tensor* ws[] = {&wq, &wk, &wv};
  Tensor* ys[] = {&q, &k, &v};
  if (!norm_gemv(x, norm, eps, ws, ys, 3, GemvEpilogue::Store))
    Backend::norm_matmul_qkv(x, norm, eps, wq, wk, wv, q, k, v);
}

void CudaBackend::matmul_add(const Tensor& x, const Tensor& w, Tensor& out) {
  const Tensor* ws[] = {&w};
  Tensor* ys[] = {&out};
  if (!fused_gemv(x, ws, ys, 1, GemvEpilogue::Accumulate)) Backend::matmul_add(x, w, out);
}

void CudaBackend::matmul_swiglu(const Tensor& x, const Tensor& gate, const Tensor& up, Tensor& out) {
  require(gate.rows == up.rows, "cuda backend: gate has {} rows, up {}", gate.rows, up.rows);
  const Tensor* ws[] = {&gate, &up};
  Tensor* ys[] = {&out};
  if (!fused_gemv(x, ws, ys, 2, GemvEpilogue::SwiGLU)) Backend::matmul_swiglu(x, gate, up, out);
}

void CudaBackend::matmul_qkv(const Tensor& x, const Tensor& wq, const Tensor& wk, const Tensor& wv, Tensor& q,
                             Tensor& k, Tensor& v) {
  const Tensor* ws[] = {&wq, &wk, &wv};
  Tensor* ys[] = {&q, &k, &v};
  if (!fused_gemv(x, ws, ys, 3, GemvEpilogue::Store)) Backend::matmul_qkv(x, wq, wk, wv, q, k, v);
}

void CudaBackend::add_bias(Tensor& x, const Tensor& bias) {
  require(bias.numel() == x.cols, "cuda backend: bias of {} values for {} columns", bias.numel(), x.cols);
  launch_add_bias(bf(x), bf(bias), x.rows, x.cols, ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("add_bias");
}

void CudaBackend::add(Tensor& x, const Tensor& y) {
  require_shape(y, x.rows, x.cols, "residual");
  launch_add(bf(x), bf(y), x.numel(), ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("add");
}

void CudaBackend::swiglu(const Tensor& gate, const Tensor& up, Tensor& out) {
  require_shape(up, gate.rows, gate.cols, "swiglu up");
  require_shape(out, gate.rows, gate.cols, "swiglu output");
  launch_swiglu(bf(gate), bf(up), bf(out), gate.numel(), ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("swiglu");
}

const double* CudaBackend::inv_freq(const engine::RopeTable& rope) {
  // A dynamic-NTK prefill brings a table per prompt length: bound the cache (nothing queued uses an old table once
  // the stream is idle).
  if (inv_freq_.size() >= 64 && inv_freq_.find(rope.inv_freq) == inv_freq_.end()) {
    FLUX_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
    inv_freq_.clear();
  }
  std::shared_ptr<void>& slot = inv_freq_[rope.inv_freq];
  if (!slot) {
    const std::vector<double>& host = rope.inv_freq;
    slot = allocate(host.size() * sizeof(double));
    FLUX_CUDA_CHECK(
        cudaMemcpyAsync(slot.get(), host.data(), host.size() * sizeof(double), cudaMemcpyHostToDevice, ctx_->stream));
    FLUX_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
  }
  return static_cast<const double*>(slot.get());
}

void CudaBackend::rope(Tensor& x, int64_t pos0, const engine::RopeTable& rope) {
  const int head_dim = rope.head_dim();
  require(head_dim > 0 && x.cols % head_dim == 0, "cuda backend: rope over {} columns with head_dim {}", x.cols,
          head_dim);
  launch_rope(bf(x), x.rows, x.cols, head_dim, pos0, nullptr, inv_freq(rope), rope.attention_scale,
              engine::RopeDynamicNtk{}, ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("rope");
}

namespace {
RowRanges device_ranges(const Tensor& x, std::span<const engine::RowRange> ranges) {
  RowRanges r;
  for (const engine::RowRange& range : ranges) {
    require(range.begin >= 0 && range.begin <= range.end && range.end <= x.rows,
            "mean_of_rows: rows [{}, {}) of a {}-row tensor", range.begin, range.end, x.rows);
    r.begin[r.n] = range.begin;
    r.end[r.n] = range.end;
    ++r.n;
  }
  return r;
}
}  // namespace

std::vector<float> CudaBackend::mean_of_rows(const Tensor& x, std::span<const engine::RowRange> ranges) {
  if (ranges.size() > static_cast<std::size_t>(kMaxRowRanges)) return Backend::mean_of_rows(x, ranges);
  const RowRanges r = device_ranges(x, ranges);
  std::shared_ptr<void> dev = allocate(static_cast<std::size_t>(x.cols) * sizeof(float));
  launch_mean_of_rows(bf(x), x.cols, r, static_cast<float*>(dev.get()), ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("mean_of_rows");
  std::vector<float> mean(static_cast<std::size_t>(x.cols));
  FLUX_CUDA_CHECK(cudaMemcpyAsync(mean.data(), dev.get(), mean.size() * sizeof(float), cudaMemcpyDeviceToHost,
                                  ctx_->stream));
  FLUX_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
  return mean;
}

struct CudaBackend::DeviceMlp {
  std::shared_ptr<void> memory;
  std::vector<const float*> weight, bias;  // per layer, inside memory
};

const CudaBackend::DeviceMlp& CudaBackend::device_mlp(const engine::SmallMlp& mlp) {
  if (mlp.device && mlp.device_owner == this) return *static_cast<const DeviceMlp*>(mlp.device.get());
  std::size_t floats = 0;
  for (const engine::MlpLinear& l : mlp.layers) floats += l.weight.size() + l.bias.size();
  auto dev = std::make_shared<DeviceMlp>();
  dev->memory = allocate(floats * sizeof(float));
  auto* at = static_cast<float*>(dev->memory.get());
  for (const engine::MlpLinear& l : mlp.layers) {
    require(l.weight.size() == static_cast<std::size_t>(l.in) * static_cast<std::size_t>(l.out) &&
                l.bias.size() == static_cast<std::size_t>(l.out),
            "cuda backend: MLP layer [{}, {}] holds {} weights and {} biases", l.out, l.in, l.weight.size(),
            l.bias.size());
    for (const std::vector<float>* part : {&l.weight, &l.bias}) {
      FLUX_CUDA_CHECK(cudaMemcpyAsync(at, part->data(), part->size() * sizeof(float), cudaMemcpyHostToDevice,
                                      ctx_->stream));
      (part == &l.weight ? dev->weight : dev->bias).push_back(at);
      at += part->size();
    }
  }
  mlp.device = dev;
  mlp.device_owner = this;
  return *dev;
}

const float* CudaBackend::run_pooled_mlp(const Tensor& x, std::span<const engine::RowRange> ranges,
                                        const engine::SmallMlp& mlp, std::shared_ptr<void>& scratch) {
  const RowRanges r = device_ranges(x, ranges);
  const DeviceMlp& dev = device_mlp(mlp);
  const int rows = static_cast<int>(x.cols / mlp.in());
  const std::size_t width = static_cast<std::size_t>(rows) * static_cast<std::size_t>(mlp.widest());
  scratch = allocate((static_cast<std::size_t>(x.cols) + 2 * width) * sizeof(float));
  auto* pooled = static_cast<float*>(scratch.get());
  float* ping[2] = {pooled + x.cols, pooled + x.cols + width};
  launch_mean_of_rows(bf(x), x.cols, r, pooled, ctx_->stream);
  const float* in = pooled;
  for (std::size_t i = 0; i < mlp.layers.size(); ++i) {
    const engine::MlpLinear& l = mlp.layers[i];
    launch_linear_f32(in, rows, l.in, dev.weight[i], dev.bias[i], l.out, l.silu, ping[i % 2], ctx_->stream);
    in = ping[i % 2];
  }
  FLUX_CUDA_CHECK_LAUNCH("router pooling and MLP");
  return in;
}

float* CudaBackend::router_scratch(std::size_t floats) {
  if (floats > router_scratch_floats_) {  // grown, never shrunk: an identical run allocates nothing
    router_scratch_ = allocate(floats * sizeof(float));
    router_scratch_floats_ = floats;
  }
  return static_cast<float*>(router_scratch_.get());
}

bool CudaBackend::run_router_fused(const Tensor& x, std::span<const engine::RowRange> ranges,
                                   const engine::SmallMlp& mlp, float* out, int32_t* decision, RouteRule rule,
                                   float temperature, float threshold) {
  if (!fused_router_ || mlp.layers.empty() || mlp.layers.size() > static_cast<std::size_t>(kMaxRouterLinears) ||
      x.cols > kMaxRouterCols)
    return false;
  const DeviceMlp& dev = device_mlp(mlp);
  RouterFusedArgs a;
  a.x = bf(x);
  a.cols = x.cols;
  a.ranges = device_ranges(x, ranges);
  a.n_linears = static_cast<int>(mlp.layers.size());
  for (int i = 0; i < a.n_linears; ++i) {
    const engine::MlpLinear& l = mlp.layers[static_cast<std::size_t>(i)];
    a.linears[i] = RouterLinear{dev.weight[static_cast<std::size_t>(i)], dev.bias[static_cast<std::size_t>(i)], l.in,
                                l.out, l.silu};
  }
  a.widest = mlp.widest();
  const int rows = static_cast<int>(x.cols / mlp.in());
  // The pooled_mlp form has no table slot: its outputs go behind the kernel's scratch.
  const auto work = static_cast<std::size_t>(router_fused_scratch_floats(x.cols, rows, a.widest));
  const std::size_t outs = out == nullptr ? static_cast<std::size_t>(rows) * static_cast<std::size_t>(mlp.out()) : 0;
  a.scratch = router_scratch(work + outs);
  a.out = out == nullptr ? a.scratch + work : out;
  a.decision = decision;
  a.rule = static_cast<int>(rule);
  a.temperature = temperature;
  a.threshold = threshold;
  if (!launch_router_fused(a, ctx_->stream)) return false;
  FLUX_CUDA_CHECK_LAUNCH("fused router");
  return true;
}

engine::Backend::PooledMlp CudaBackend::pooled_mlp(const Tensor& x, std::span<const engine::RowRange> ranges,
                                                  const engine::SmallMlp& mlp) {
  require(mlp.in() > 0 && x.cols % mlp.in() == 0, "pooled_mlp: {} columns are not rows of {}", x.cols, mlp.in());
  if (ranges.size() > static_cast<std::size_t>(kMaxRowRanges)) return Backend::pooled_mlp(x, ranges, mlp);
  const int rows = static_cast<int>(x.cols / mlp.in());
  std::shared_ptr<void> scratch;
  const TimeMark start = mark();
  const float* in = nullptr;
  if (run_router_fused(x, ranges, mlp, nullptr, nullptr, RouteRule::FluxSoftmax, 1.0f, 0.5f)) {
    in = router_scratch(0) + router_fused_scratch_floats(x.cols, rows, mlp.widest());
  } else {
    in = run_pooled_mlp(x, ranges, mlp, scratch);
  }
  const TimeMark end = mark();
  PooledMlp result;
  result.out.resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(mlp.out()));
  FLUX_CUDA_CHECK(cudaMemcpyAsync(result.out.data(), in, result.out.size() * sizeof(float), cudaMemcpyDeviceToHost,
                                  ctx_->stream));
  FLUX_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
  result.compute_ms = elapsed_ms(start, end);  // both events have completed: no further wait
  return result;
}

engine::DecodeStepData* CudaBackend::device_step(const engine::DecodeStep& step) {
  require(step.storage != nullptr, "cuda backend: decode step not made by make_decode_step");
  return static_cast<engine::DecodeStepData*>(step.storage.get());
}

engine::DecodeStep CudaBackend::make_decode_step() {
  engine::DecodeStep step{allocate(sizeof(engine::DecodeStepData))};
  launch_set_decode_step(device_step(step), 0, 0, ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("set_decode_step");
  return step;
}

void CudaBackend::set_decode_step(engine::DecodeStep& step, int32_t token, int64_t pos) {
  // A kernel, not a copy: its arguments are taken at launch, so nothing on the host must outlive the call.
  launch_set_decode_step(device_step(step), token, pos, ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("set_decode_step");
}

void CudaBackend::embed_step(const Tensor& table, const engine::DecodeStep& step, Tensor& out) {
  require_shape(out, 1, table.cols, "embedding output");
  // The token id was checked against the vocabulary when the step was set (Session::decode_logits).
  if (table.dtype != engine::DType::BF16) {
    embed_rows(table, &device_step(step)->token, 1, out);
    return;
  }
  launch_embed(bf(table), table.cols, &device_step(step)->token, 1, bf(out), ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("embed_step");
}

void CudaBackend::rope_step(Tensor& x, const engine::DecodeStep& step, const engine::RopeTable& rope) {
  const int head_dim = rope.head_dim();
  require(x.rows == 1 && head_dim > 0 && x.cols % head_dim == 0,
          "cuda backend: rope_step over [{}, {}] with head_dim {}", x.rows, x.cols, head_dim);
  // Dynamic NTK: the kernel computes the frequencies from the device position, so a recorded step stays right and
  // needs no table (nor an upload, which a stream being recorded into cannot synchronize for).
  const double* table = rope.dynamic.active() ? nullptr : inv_freq(rope);
  launch_rope(bf(x), 1, x.cols, head_dim, 0, &device_step(step)->pos, table, rope.attention_scale, rope.dynamic,
              ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("rope_step");
}

void CudaBackend::store_kv_step(const Tensor& k, const Tensor& v, const engine::DecodeStep& step,
                                const engine::KvLayout& layout, Tensor& cache_k, Tensor& cache_v) {
  require(k.rows == 1 && v.rows == 1 && k.cols == v.cols && cache_k.cols == k.cols && cache_v.cols == k.cols,
          "cuda backend: store_kv_step shape mismatch");
  launch_store_kv_step(bf(k), bf(v), k.cols, device_step(step), layout, bf(cache_k), bf(cache_v), ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("store_kv_step");
}

void CudaBackend::attention_inputs_step(Tensor& q, Tensor& k, const Tensor& v, const QkNorm& norm,
                                        const engine::DecodeStep& step, const engine::RopeTable& rope,
                                        const engine::KvLayout& layout, Tensor& cache_k, Tensor& cache_v) {
  const int head_dim = rope.head_dim();
  require(q.rows == 1 && k.rows == 1 && v.rows == 1 && head_dim > 0 && q.cols % head_dim == 0 &&
              k.cols % head_dim == 0 && v.cols == k.cols && cache_k.cols == k.cols && cache_v.cols == k.cols,
          "cuda backend: attention_inputs_step shape mismatch");
  require((norm.q == nullptr) == (norm.k == nullptr), "attention_inputs_step: QK-norm needs both weights");
  AttentionInputsArgs a;
  a.q = bf(q);
  a.k = bf(k);
  a.v = bf(v);
  if (norm.q != nullptr) {
    require(norm.q->numel() == head_dim && norm.k->numel() == head_dim, "cuda backend: QK-norm weights of {} and {} "
            "values for head dim {}", norm.q->numel(), norm.k->numel(), head_dim);
    a.q_norm = bf(*norm.q);
    a.k_norm = bf(*norm.k);
    a.eps = norm.eps;
  }
  a.n_heads = static_cast<int>(q.cols / head_dim);
  a.n_kv_heads = static_cast<int>(k.cols / head_dim);
  a.head_dim = head_dim;
  a.step = device_step(step);
  // As rope_step: dynamic NTK needs no table (the kernel computes the frequencies from the device position).
  a.inv_freq = rope.dynamic.active() ? nullptr : inv_freq(rope);
  a.rope_scale = rope.attention_scale;
  a.dynamic = rope.dynamic;
  a.layout = layout;
  a.cache_k = bf(cache_k);
  a.cache_v = bf(cache_v);
  if (!fused_decode_ || !launch_attention_inputs_step(a, ctx_->stream)) {
    Backend::attention_inputs_step(q, k, v, norm, step, rope, layout, cache_k, cache_v);
    return;
  }
  FLUX_CUDA_CHECK_LAUNCH("attention_inputs_step");
}

std::shared_ptr<void> CudaBackend::record(const std::function<void()>& body) {
  const char* env = std::getenv("FLUX_CUDA_GRAPHS");
  if (env != nullptr && std::strcmp(env, "0") == 0) return nullptr;
  FLUX_CUDA_CHECK(cudaStreamBeginCapture(ctx_->stream, cudaStreamCaptureModeThreadLocal));
  cudaGraph_t graph = nullptr;
  try {
    body();
  } catch (...) {
    cudaStreamEndCapture(ctx_->stream, &graph);  // leaves capture mode; the partial graph is dropped
    if (graph != nullptr) cudaGraphDestroy(graph);
    cudaGetLastError();
    throw;
  }
  FLUX_CUDA_CHECK(cudaStreamEndCapture(ctx_->stream, &graph));
  cudaGraphExec_t exec = nullptr;
  const cudaError_t err = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  FLUX_CUDA_CHECK(err);
  return std::shared_ptr<void>(exec, [](void* e) { cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(e)); });
}

void CudaBackend::replay(const std::shared_ptr<void>& recording) {
  require(recording != nullptr, "cuda backend: replay of an empty recording");
  const auto exec = static_cast<cudaGraphExec_t>(recording.get());
  cudaError_t err = cudaGraphLaunch(exec, ctx_->stream);
  if (err == cudaErrorMemoryAllocation) {
    // The recording's activations come from the graph pool, which cannot use what the stream pool still caches
    // (e.g. the KV cache of a request that just failed for lack of memory): return that, retry once.
    cudaGetLastError();
    release_cached_memory();
    err = cudaGraphLaunch(exec, ctx_->stream);
  }
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    engine::fail("CUDA out of memory launching a recorded decode step");
  }
  FLUX_CUDA_CHECK(err);
}

void CudaBackend::release_cached_memory() {
  static_lists_.clear();  // the attention's kept block lists go too (rebuilt on next use)
  cudaStreamSynchronize(ctx_->stream);  // frees queued on the stream have happened
  cudaMemPool_t pool = nullptr;
  if (cudaDeviceGetDefaultMemPool(&pool, ctx_->device) == cudaSuccess) cudaMemPoolTrimTo(pool, 0);
  cudaDeviceGraphMemTrim(ctx_->device);
  cudaGetLastError();
}

Tensor CudaBackend::random(int64_t rows, int64_t cols, float scale, uint64_t seed) {
  Tensor t = empty(rows, cols);
  launch_random_fill(bf(t), t.numel(), scale, seed, ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("random_fill");
  return t;
}

int32_t CudaBackend::sample_token(const Tensor& logits, const engine::SampleParams& p) {
  require(logits.rows == 1 && logits.cols > 0, "sample_token: logits must be one row, got [{}, {}]", logits.rows,
          logits.cols);
  const int top_k = p.temperature <= 0.0f ? 1 : p.top_k;
  // Full-vocabulary sampling (top-k off or above the device limit) runs on the host reference.
  if (top_k < 1 || top_k > kMaxDeviceTopK || p.penalized.size() > 4096) return Backend::sample_token(logits, p);
  const int64_t need = sample_scratch_bytes(logits.cols, top_k) + int64_t{4096} * int64_t{sizeof(int32_t)} + 16;
  if (need > sample_scratch_bytes_) {
    sample_scratch_ = allocate(static_cast<std::size_t>(need));
    sample_scratch_bytes_ = need;
  }
  if (!pinned_id_) {
    void* host = nullptr;
    FLUX_CUDA_CHECK(cudaMallocHost(&host, sizeof(int32_t)));
    pinned_id_ = std::shared_ptr<int32_t>(static_cast<int32_t*>(host), [](int32_t* q) { cudaFreeHost(q); });
  }
  // Scratch layout: [penalized ids (4096) | out id (4 words) | candidates].
  auto* penalized = static_cast<int32_t*>(sample_scratch_.get());
  int32_t* out_id = penalized + 4096;
  void* candidates = out_id + 4;
  SampleArgs a;
  a.logits = bf(logits);
  a.vocab = logits.cols;
  a.penalty = p.repetition_penalty;
  if (p.repetition_penalty != 1.0f && !p.penalized.empty()) {
    FLUX_CUDA_CHECK(cudaMemcpyAsync(penalized, p.penalized.data(), p.penalized.size() * sizeof(int32_t),
                                    cudaMemcpyHostToDevice, ctx_->stream));
    a.penalized = penalized;
    a.n_penalized = static_cast<int>(p.penalized.size());
  }
  a.temperature = p.temperature;
  a.top_k = top_k;
  a.top_p = p.top_p;
  a.uniform = static_cast<float>(p.uniform);
  a.out_id = out_id;
  require(launch_sample_token(a, candidates, ctx_->stream), "cuda backend: sampling with top-k {} failed", top_k);
  FLUX_CUDA_CHECK_LAUNCH("sample_token");
  FLUX_CUDA_CHECK(cudaMemcpyAsync(pinned_id_.get(), out_id, sizeof(int32_t), cudaMemcpyDeviceToHost, ctx_->stream));
  FLUX_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));  // the one host sync of a decode step
  return *pinned_id_;
}

std::size_t CudaBackend::peak_memory_bytes() {
  cudaMemPool_t pool = nullptr;
  FLUX_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, ctx_->device));
  uint64_t high = 0;
  FLUX_CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &high));
  return static_cast<std::size_t>(high);
}

void CudaBackend::reset_peak_memory() {
  cudaMemPool_t pool = nullptr;
  FLUX_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, ctx_->device));
  uint64_t zero = 0;  // resets the high-water mark to what is in use now
  FLUX_CUDA_CHECK(cudaMemPoolSetAttribute(pool, cudaMemPoolAttrUsedMemHigh, &zero));
}

engine::DeviceMemory CudaBackend::device_memory() {
  FLUX_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));  // frees queued on the stream have happened
  cudaMemPool_t pool = nullptr;
  FLUX_CUDA_CHECK(cudaDeviceGetDefaultMemPool(&pool, ctx_->device));
  uint64_t used = 0, reserved = 0;
  FLUX_CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrUsedMemCurrent, &used));
  FLUX_CUDA_CHECK(cudaMemPoolGetAttribute(pool, cudaMemPoolAttrReservedMemCurrent, &reserved));
  engine::DeviceMemory m;
  m.in_use = static_cast<std::size_t>(used);
  m.reserved = static_cast<std::size_t>(reserved);
  FLUX_CUDA_CHECK(cudaMemGetInfo(&m.device_free, &m.device_total));
  return m;
}

TimeMark CudaBackend::mark() {
  cudaEvent_t event = nullptr;
  {
    const std::lock_guard<std::mutex> lock(events_->mutex);
    if (!events_->free.empty()) {
      event = events_->free.back();
      events_->free.pop_back();
    }
  }
  if (event == nullptr) FLUX_CUDA_CHECK(cudaEventCreate(&event));
  FLUX_CUDA_CHECK(cudaEventRecord(event, ctx_->stream));
  TimeMark m;
  // Back to the pool when the last copy of the mark goes (the pool outlives the backend while marks do).
  m.event = std::shared_ptr<void>(event, [pool = events_](void* e) {
    const std::lock_guard<std::mutex> lock(pool->mutex);
    pool->free.push_back(static_cast<cudaEvent_t>(e));
  });
  return m;
}

double CudaBackend::elapsed_ms(const TimeMark& from, const TimeMark& to) {
  require(from.event && to.event, "cuda backend: elapsed_ms needs two marks of this backend");
  const auto end = static_cast<cudaEvent_t>(to.event.get());
  FLUX_CUDA_CHECK(cudaEventSynchronize(end));
  float ms = 0.0f;
  FLUX_CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(from.event.get()), end));
  return ms;
}

void CudaBackend::synchronize() {
  FLUX_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
}

}  // namespace flux::kernels

namespace flux::engine {

std::unique_ptr<Backend> make_cuda_backend() {
  return std::make_unique<kernels::CudaBackend>();
}

bool cuda_device_available() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return count > 0;
}

}  // namespace flux::engine
