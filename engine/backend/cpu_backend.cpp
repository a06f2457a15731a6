#include "engine/backend/cpu_backend.h"

#include <cblas.h>
#include <malloc.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <new>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/attention/attention_cpu.h"
#include "engine/backend/cpu/half_rows.h"
#include "engine/backend/cpu/row_ops.h"
#include "engine/backend/cpu/weight_matmul.h"
#include "engine/backend/cpu_threads.h"
#include "engine/backend/random_blocks.h"
#include "engine/backend/weight_dtype.h"
#include "engine/core/error.h"
#include "engine/format/ggml_quant.h"

#include <spdlog/spdlog.h>

namespace flux::engine {
namespace {

float* f32(Tensor& t) { return static_cast<float*>(t.data); }
const float* f32(const Tensor& t) { return static_cast<const float*>(t.data); }

// Activations and KV rows are F32 or F16 (an fp16 cache); weights never go through the row ops.
std::size_t row_element_bytes(const Tensor& t) {
  require(t.dtype == DType::F32 || t.dtype == DType::F16, "cpu backend: row op on a {} tensor",
          static_cast<int>(t.dtype));
  return t.dtype == DType::F16 ? 2 : 4;
}

std::byte* bytes_at(const Tensor& t, int64_t row) {
  return static_cast<std::byte*>(t.data) + static_cast<std::size_t>(row * t.cols) * row_element_bytes(t);
}

KvRows kv_rows(const Tensor& k, const Tensor& v) {
  require(k.dtype == v.dtype && (k.dtype == DType::F32 || k.dtype == DType::F16),
          "cpu backend: K and V cache tensors must both be F32 or both F16");
  return KvRows{k.data, v.data, k.dtype == DType::F16};
}

void require_shape(const Tensor& t, int64_t rows, int64_t cols, const char* what) {
  require(t.rows == rows && t.cols == cols, "cpu backend: {} has shape [{}, {}], expected [{}, {}]", what, t.rows,
          t.cols, rows, cols);
}

}  // namespace

CpuBackend::CpuBackend(int n_threads) {
  // A prefill's activations (up to 25 MB per tensor at 4,096 tokens) are allocated and freed every layer; past
  // glibc's adaptive mmap threshold each one was a fresh mmap, page-faulted in and unmapped again (~500k faults, 7 %
  // of a 4K prefill's CPU time). Keep them in the heap and keep freed memory for the next layer.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  const CpuThreadChoice choice = choose_cpu_threads(n_threads);
  automatic_threads_ = n_threads <= 0;
  load_probe_ = CoreLoadProbe();
  spdlog::info("cpu backend: {}", choice.reason);
  omp_set_dynamic(0);  // -t N means N: the runtime may not shrink teams on its own
  use_threads(choice.threads);
  if (openblas_get_parallel() != 2)
    spdlog::warn("OpenBLAS is not the OpenMP build: attention runs on one thread (install libopenblas-openmp-dev)");
}

void CpuBackend::use_threads(int n) {
  n_threads_ = n;
  // OpenBLAS built on OpenMP shares our thread pool. The pthread build runs its own threads, and OpenMP workers
  // spinning next to them made decode 100x slower on a 16-core machine: then BLAS gets the cores and our loops one.
  omp_set_num_threads(openblas_get_parallel() == 2 ? n : 1);
  openblas_set_num_threads(n);
}

void CpuBackend::begin_run() {
  if (!automatic_threads_) return;
  const double others = load_probe_.others_busy_cores();
  if (others < 0) return;  // too soon after the last look, or /proc/stat unreadable: keep the count
  const int n = automatic_cpu_threads(usable_cpu_cores(), others);
  if (n == n_threads_) return;
  spdlog::info("cpu backend: {} threads now ({:.1f} cores kept busy by other programs)", n, others);
  use_threads(n);
}

std::string CpuBackend::device_name() const {
  return fmt::format("CPU, {} threads (OpenBLAS {})", n_threads_, openblas_get_config());
}

Tensor CpuBackend::empty(int64_t rows, int64_t cols) {
  require(rows >= 0 && cols >= 0, "cpu backend: negative tensor shape [{}, {}]", rows, cols);
  auto storage = std::shared_ptr<float[]>(new float[static_cast<std::size_t>(std::max<int64_t>(rows * cols, 1))]);
  Tensor t;
  t.data = storage.get();
  t.storage = std::shared_ptr<void>(storage, storage.get());
  t.rows = rows;
  t.cols = cols;
  return t;
}

Tensor CpuBackend::upload(std::span<const float> host, int64_t rows, int64_t cols) {
  require(static_cast<int64_t>(host.size()) == rows * cols, "cpu backend: upload of {} values into [{}, {}]",
          host.size(), rows, cols);
  Tensor t = empty(rows, cols);
  std::memcpy(t.data, host.data(), host.size_bytes());
  return t;
}

void CpuBackend::set_kv_dtype(DType dtype) {
  require(dtype == DType::F32 || dtype == DType::F16, "cpu backend: the KV cache stores F32 or F16");
  kv_dtype_ = dtype;
  if (const char* env = std::getenv("FLUX_CPU_KV"); env != nullptr && *env != 0) {
    const std::string_view v(env);
    require(v == "f32" || v == "f16", "FLUX_CPU_KV={}: use f32 or f16", v);
    kv_dtype_ = v == "f16" ? DType::F16 : DType::F32;
  }
}

Tensor CpuBackend::empty_kv(int64_t rows, int64_t cols) {
  if (kv_dtype_ == DType::F32) return empty(rows, cols);
  require(rows >= 0 && cols >= 0, "cpu backend: negative tensor shape [{}, {}]", rows, cols);
  auto storage = std::shared_ptr<uint16_t[]>(new uint16_t[static_cast<std::size_t>(std::max<int64_t>(rows * cols, 1))]);
  Tensor t;
  t.data = storage.get();
  t.storage = std::shared_ptr<void>(storage, storage.get());
  t.dtype = DType::F16;
  t.rows = rows;
  t.cols = cols;
  return t;
}

namespace {

// Weight storage of `bytes` bytes, 64-byte aligned for the SIMD loads.
Tensor weight_storage(DType dtype, int64_t rows, int64_t cols, std::size_t bytes) {
  auto storage = std::shared_ptr<std::byte[]>(new (std::align_val_t{64}) std::byte[std::max<std::size_t>(bytes, 1)],
                                              [](std::byte* p) { ::operator delete[](p, std::align_val_t{64}); });
  Tensor t;
  t.data = storage.get();
  t.storage = std::shared_ptr<void>(storage, storage.get());
  t.dtype = dtype;
  t.rows = rows;
  t.cols = cols;
  return t;
}

// The types the CPU multiplies without converting (F32 goes through upload).
std::optional<DType> native_weight_dtype(StorageType type) {
  const std::optional<DType> d = dtype_for_storage(type);
  return d && *d != DType::F32 ? d : std::nullopt;
}

}  // namespace

Tensor CpuBackend::upload_weight(StorageType type, std::span<const std::byte> bytes, int64_t rows, int64_t cols,
                                 std::shared_ptr<const void> mapping) {
  const std::optional<DType> dtype = native_weight_dtype(type);
  if (!dtype) return Backend::upload_weight(type, bytes, rows, cols);
  require(static_cast<int64_t>(bytes.size()) == tensor_bytes(type, rows * cols) && cols % block_elems(type) == 0,
          "cpu backend: {} weight [{}, {}] of {} bytes", storage_type_name(type), rows, cols, bytes.size());
  if (mapping) {
    // In place: the weights are the file's pages (read-only, loaded on first use, shared with the page cache), so
    // the process holds one copy, not the mapping's and ours. The kernels load unaligned.
    Tensor t;
    t.storage = std::shared_ptr<void>(std::const_pointer_cast<void>(mapping), const_cast<std::byte*>(bytes.data()));
    t.data = const_cast<std::byte*>(bytes.data());
    t.dtype = *dtype;
    t.rows = rows;
    t.cols = cols;
    return t;
  }
  Tensor t = weight_storage(*dtype, rows, cols, bytes.size());
  std::memcpy(t.data, bytes.data(), bytes.size());
  return t;
}

Tensor CpuBackend::random_weight(int64_t rows, int64_t cols, float scale, uint64_t seed, StorageType type) {
  const std::optional<DType> dtype = native_weight_dtype(type);
  if (!dtype) return Backend::random_weight(rows, cols, scale, seed, type);
  require(cols % block_elems(type) == 0, "cpu backend: {} columns are not whole {} blocks", cols,
          storage_type_name(type));
  const auto bytes = static_cast<std::size_t>(tensor_bytes(type, rows * cols));
  Tensor t = weight_storage(*dtype, rows, cols, bytes);
  fill_random_blocks(type, {static_cast<std::byte*>(t.data), bytes}, rows, cols, scale, seed);
  return t;
}

std::string CpuBackend::weight_execution(const Tensor& w) const {
  return cpu::execution_type(w.dtype);
}

void CpuBackend::download(const Tensor& t, std::span<float> host) {
  require(static_cast<int64_t>(host.size()) == t.numel(), "cpu backend: download of [{}, {}] into {} values", t.rows,
          t.cols, host.size());
  if (t.dtype == DType::F16) return cpu::f16_to_f32_n(static_cast<const uint16_t*>(t.data), host.data(), t.numel());
  std::memcpy(host.data(), t.data, host.size_bytes());
}

Tensor CpuBackend::row_view(const Tensor& t, int64_t row0, int64_t n) {
  require(row0 >= 0 && n >= 0 && row0 + n <= t.rows, "cpu backend: row view [{}, {}) of a {}-row tensor", row0,
          row0 + n, t.rows);
  Tensor v = t;
  v.data = bytes_at(t, row0);
  v.rows = n;
  return v;
}

void CpuBackend::write_rows(Tensor& dst, int64_t dst_row0, const Tensor& src) {
  copy_rows(src, 0, dst, dst_row0, src.rows);
}

void CpuBackend::copy_rows(const Tensor& src, int64_t src_row0, Tensor& dst, int64_t dst_row0, int64_t n) {
  require(
      src.cols == dst.cols && src_row0 >= 0 && dst_row0 >= 0 && src_row0 + n <= src.rows && dst_row0 + n <= dst.rows,
      "cpu backend: copy of rows [{}, +{}) into [{}, +{}) out of bounds", src_row0, n, dst_row0, n);
  const int64_t count = n * src.cols;
  if (src.dtype == dst.dtype) {
    std::memmove(bytes_at(dst, dst_row0), bytes_at(src, src_row0),
                 static_cast<std::size_t>(count) * row_element_bytes(src));
  } else if (dst.dtype == DType::F16) {  // activations into an fp16 cache
    cpu::f32_to_f16_n(reinterpret_cast<const float*>(bytes_at(src, src_row0)),
                      reinterpret_cast<uint16_t*>(bytes_at(dst, dst_row0)), count);
  } else {
    cpu::f16_to_f32_n(reinterpret_cast<const uint16_t*>(bytes_at(src, src_row0)),
                      reinterpret_cast<float*>(bytes_at(dst, dst_row0)), count);
  }
}

void CpuBackend::embed(const Tensor& table, std::span<const int32_t> ids, Tensor& out) {
  require_shape(out, static_cast<int64_t>(ids.size()), table.cols, "embedding output");
  for (std::size_t i = 0; i < ids.size(); ++i) {
    require(ids[i] >= 0 && ids[i] < table.rows, "token id {} is outside the vocabulary (0..{})", ids[i],
            table.rows - 1);
    if (table.dtype != DType::F32) {
      cpu::weight_row_f32(table, ids[i], f32(out) + static_cast<int64_t>(i) * out.cols);
      continue;
    }
    std::memcpy(f32(out) + static_cast<int64_t>(i) * out.cols, f32(table) + ids[i] * table.cols,
                static_cast<std::size_t>(table.cols) * sizeof(float));
  }
}

void CpuBackend::rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) {
  require_shape(out, x.rows, x.cols, "rms_norm output");
  const int64_t n = x.cols;
  const float* w = f32(weight);
#pragma omp parallel for if (x.rows > 8)
  for (int64_t r = 0; r < x.rows; ++r) cpu::rms_norm_row(f32(x) + r * n, w, eps, f32(out) + r * n, n);
}

void CpuBackend::head_rms_norm(Tensor& x, const Tensor& weight, int head_dim, float eps) {
  require(x.cols % head_dim == 0 && weight.numel() == head_dim, "cpu backend: head_rms_norm shape mismatch");
  Tensor heads = x;
  heads.rows = x.rows * (x.cols / head_dim);
  heads.cols = head_dim;
  rms_norm(heads, weight, eps, heads);
}

void CpuBackend::matmul(const Tensor& x, const Tensor& w, Tensor& out) {
  require(x.cols == w.cols, "cpu backend: matmul inner dimensions differ ({} vs {})", x.cols, w.cols);
  require_shape(out, x.rows, w.rows, "matmul output");
  if (w.dtype != DType::F32) return cpu::weight_matmul(x, w, out);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(x.rows), static_cast<int>(w.rows),
              static_cast<int>(x.cols), 1.0f, f32(x), static_cast<int>(x.cols), f32(w), static_cast<int>(w.cols), 0.0f,
              f32(out), static_cast<int>(out.cols));
}

void CpuBackend::matmul_add(const Tensor& x, const Tensor& w, Tensor& out) {
  const cpu::WeightProduct p[] = {{&w, &out}};
  if (!cpu::weight_matmul_group(x, p, true, cpu::ProductKind::ResidualAdd)) Backend::matmul_add(x, w, out);
}

void CpuBackend::matmul_swiglu(const Tensor& x, const Tensor& gate, const Tensor& up, Tensor& out) {
  Tensor g = empty(x.rows, gate.rows), u = empty(x.rows, up.rows);
  const cpu::WeightProduct p[] = {{&gate, &g}, {&up, &u}};
  if (!cpu::weight_matmul_group(x, p, false, cpu::ProductKind::GateUp))
    return Backend::matmul_swiglu(x, gate, up, out);
  swiglu(g, u, out);
}

void CpuBackend::matmul_qkv(const Tensor& x, const Tensor& wq, const Tensor& wk, const Tensor& wv, Tensor& q, Tensor& k,
                            Tensor& v) {
  const cpu::WeightProduct p[] = {{&wq, &q}, {&wk, &k}, {&wv, &v}};
  if (!cpu::weight_matmul_group(x, p, false, cpu::ProductKind::Qkv)) Backend::matmul_qkv(x, wq, wk, wv, q, k, v);
}

void CpuBackend::add_bias(Tensor& x, const Tensor& bias) {
  require(bias.numel() == x.cols, "cpu backend: bias of {} values for {} columns", bias.numel(), x.cols);
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t c = 0; c < x.cols; ++c) f32(x)[r * x.cols + c] += f32(bias)[c];
}

void CpuBackend::add(Tensor& x, const Tensor& y) {
  require_shape(y, x.rows, x.cols, "residual");
  float* a = f32(x);
  const float* b = f32(y);
  const int64_t n = x.numel();
#pragma omp parallel for simd if (n > 65536)
  for (int64_t i = 0; i < n; ++i) a[i] += b[i];
}

void CpuBackend::swiglu(const Tensor& gate, const Tensor& up, Tensor& out) {
  require_shape(up, gate.rows, gate.cols, "swiglu up");
  require_shape(out, gate.rows, gate.cols, "swiglu output");
  const float* g = f32(gate);
  const float* u = f32(up);
  float* o = f32(out);
  const int64_t n = gate.numel();
  constexpr int64_t kChunk = 16384;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
#pragma omp parallel for if (n > 65536)
  for (int64_t c = 0; c < chunks; ++c)
    cpu::swiglu_n(g + c * kChunk, u + c * kChunk, o + c * kChunk, std::min(kChunk, n - c * kChunk));
}

void CpuBackend::rope(Tensor& x, int64_t pos0, const RopeTable& rope) {
  const int head_dim = rope.head_dim();
  require(head_dim > 0 && x.cols % head_dim == 0, "cpu backend: rope over {} columns with head_dim {}", x.cols,
          head_dim);
  const int half = head_dim / 2;
  const double* inv_freq = rope.inv_freq.data();
  const float scale = rope.attention_scale;
  const int64_t n_heads = x.cols / head_dim;
#pragma omp parallel for if (x.rows > 8)
  for (int64_t r = 0; r < x.rows; ++r) {
    const double pos = static_cast<double>(pos0 + r);
    for (int i = 0; i < half; ++i) {
      // HF computes the angle in fp32 and cos/sin of it; doing it in double keeps us within 1e-6 of that.
      const float angle = static_cast<float>(pos * inv_freq[i]);
      const float c = std::cos(angle) * scale, s = std::sin(angle) * scale;
      for (int64_t h = 0; h < n_heads; ++h) {
        float* p = f32(x) + r * x.cols + h * head_dim;
        const float a = p[i], b = p[i + half];
        p[i] = a * c - b * s;
        p[i + half] = b * c + a * s;
      }
    }
  }
}

AttentionStats CpuBackend::attention_prefill(const Tensor& q, const Tensor& k, const Tensor& v, int64_t q_pos0,
                                             int64_t n_kv, int n_heads, int n_kv_heads, int head_dim,
                                             const AttentionPlan& plan, Tensor& out, bool record_mask) {
  require(q.cols == int64_t{n_heads} * head_dim && k.cols == int64_t{n_kv_heads} * head_dim && k.rows >= n_kv &&
              v.rows >= n_kv && q_pos0 + q.rows <= n_kv,
          "cpu backend: attention_prefill shape mismatch");
  require_shape(out, q.rows, q.cols, "attention output");
  // XAttention scores the whole causal square from all queries, so it needs them in one call.
  require(plan.mode != AttentionMode::XAttention || (q_pos0 == 0 && q.rows == n_kv),
          "cpu backend: XAttention prefill must cover the whole prompt in one call");
  const KvRows kv = kv_rows(k, v);
  std::vector<float> keys_f32;  // XAttention scores the keys in fp32: widen an fp16 cache's first n_kv rows once
  if (kv.f16 && plan.mode == AttentionMode::XAttention) {
    keys_f32.resize(static_cast<std::size_t>(n_kv * k.cols));
    cpu::f16_to_f32_n(static_cast<const uint16_t*>(k.data), keys_f32.data(), n_kv * k.cols);
  }
  BlockLists lists =
      plan_block_lists(plan, f32(q), kv.f16 ? keys_f32.data() : f32(k), n_kv, n_heads, n_kv_heads, head_dim);
  attention_prefill_cpu(f32(q), kv, q.rows, q_pos0, n_kv, n_heads, n_kv_heads, head_dim, plan, lists, f32(out));
  AttentionStats stats;
  stats.density = lists.density();
  if (record_mask && plan.mode == AttentionMode::XAttention) {
    stats.mask = [shared = std::make_shared<const BlockLists>(std::move(lists)), n_heads] {
      return aggregate_heads(*shared, n_heads);
    };
  }
  return stats;
}

void CpuBackend::attention_decode(const Tensor& q, const Tensor& k, const Tensor& v, int64_t n_slots, int n_heads,
                                  int n_kv_heads, int head_dim, Tensor& out) {
  require(q.rows == 1 && k.rows >= n_slots && v.rows >= n_slots, "cpu backend: attention_decode shape mismatch");
  const KvRange all{0, n_slots};
  attention_decode_cpu(f32(q), kv_rows(k, v), std::span<const KvRange>(&all, 1), n_heads, n_kv_heads, head_dim,
                       f32(out));
}

void CpuBackend::attention_decode_step(const Tensor& q, const Tensor& k, const Tensor& v, const DecodeStep& step,
                                       const KvLayout& layout, int n_heads, int n_kv_heads, int head_dim, Tensor& out) {
  // The step's position is a host value here (Backend's default DecodeStep); the runs are read in place.
  require(step.storage != nullptr, "decode step: not made by make_decode_step");
  const int64_t pos = static_cast<const DecodeStepData*>(step.storage.get())->pos;
  const KvReads reads = layout.reads_at(pos);
  require(q.rows == 1 && k.rows >= reads.rows + reads.gap && v.rows >= reads.rows + reads.gap,
          "cpu backend: attention_decode shape mismatch");
  if (reads.rows == 0) {  // nothing to read (see KvLayout): zeros, as the reference kernel writes
    std::fill(f32(out), f32(out) + out.numel(), 0.0f);
    return;
  }
  // [0, rows) without a gap, else [0, gap_at) and [gap_at + gap, rows + gap) (either may be empty).
  const KvRange runs[2] = {{0, reads.gap == 0 ? reads.rows : reads.gap_at},
                           {reads.gap_at + reads.gap, reads.rows + reads.gap}};
  const std::span<const KvRange> ranges(runs, reads.gap == 0 ? 1 : 2);
  attention_decode_cpu(f32(q), kv_rows(k, v), ranges, n_heads, n_kv_heads, head_dim, f32(out));
}

TimeMark CpuBackend::mark() {
  using namespace std::chrono;
  return TimeMark{duration<double, std::milli>(steady_clock::now().time_since_epoch()).count(), nullptr};
}

std::unique_ptr<Backend> make_cpu_backend(int n_threads) {
  return std::make_unique<CpuBackend>(n_threads);
}

}  // namespace flux::engine
