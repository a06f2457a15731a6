#include "engine/backend/cpu/weight_matmul.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <span>
#include <string_view>
#include <vector>

#include "engine/backend/cpu/half_dot.h"
#include "engine/backend/cpu/int8_gemm.h"
#include "engine/backend/cpu/quant_dot.h"
#include "engine/backend/weight_dtype.h"
#include "engine/core/error.h"
#include "engine/format/ggml_quant.h"

namespace flux::engine::cpu {
namespace {

std::atomic<int> g_forced_path{static_cast<int>(GemmPath::Auto)};
std::atomic<int> g_residual{-1};
std::atomic<ActivationFilter> g_filter{nullptr};

// Two Q8 levels (true) or one for the Int8 path's activations, per ProductKind: the precision/speed choice of the
// long prefill (docs/cpu-engine.md has the measurement; the Q8 decode path always takes two).
constexpr bool kPrefillLevels[] = {
    true,  // Qkv
    true,  // GateUp
    true,  // ResidualAdd
    true,  // Plain
};

// One level or two for everything, when forced (force_residual_activations, else FLUX_CPU_ACT).
std::optional<bool> forced_residual() {
  const int forced = g_residual.load(std::memory_order_relaxed);
  if (forced >= 0) return forced == 1;
  static const std::optional<bool> env = []() -> std::optional<bool> {
    const char* v = std::getenv("FLUX_CPU_ACT");
    if (v == nullptr || *v == '\0') return std::nullopt;
    if (std::string_view(v) == "q8x2") return true;
    require(std::string_view(v) == "q8", "FLUX_CPU_ACT={}: use q8 or q8x2", v);
    return false;
  }();
  return env;
}

GemmPath env_path() {
  const char* env = std::getenv("FLUX_CPU_GEMM");
  if (env == nullptr || *env == '\0') return GemmPath::Auto;
  const std::string_view v(env);
  if (v == "q8") return GemmPath::Q8;
  if (v == "tile") return GemmPath::DequantTile;
  if (v == "int8") return GemmPath::Int8;
  fail("FLUX_CPU_GEMM={}: use q8, tile or int8", v);
}

const uint8_t* row_bytes(const Tensor& w, int64_t row, int64_t bytes_per_row) {
  return static_cast<const uint8_t*>(w.data) + row * bytes_per_row;
}

// Output rows per scheduling chunk: small enough that a thread slowed by another process hands the rest of the
// matrix to the others, large enough that the schedule costs nothing next to the dot products.
int64_t chunk_rows(int64_t rows, int64_t per_thread, int64_t minimum, int64_t maximum) {
  const int64_t threads = std::max(1, omp_get_max_threads());
  const int64_t chunk = rows / (per_thread * threads);
  return std::clamp<int64_t>(chunk - chunk % 8, minimum, maximum);
}

// x [n, cols] as n rows of Q8 blocks (through the measurement filter, when one is set).
std::vector<Q8Block> quantize_rows(const Tensor& x, bool residual, ProductKind kind) {
  const int64_t n = x.rows, cols = x.cols, blocks = cols / kQ8Block;
  std::vector<Q8Block> a(static_cast<std::size_t>(n * blocks));
  const auto* xs = static_cast<const float*>(x.data);
  std::vector<float> filtered;
  if (const ActivationFilter filter = g_filter.load(std::memory_order_relaxed); filter != nullptr) {
    filtered.assign(xs, xs + n * cols);
    filter(kind, filtered.data(), n, cols);
    xs = filtered.data();
  }
#pragma omp parallel for if (n > 4)
  for (int64_t r = 0; r < n; ++r) quantize_row_q8(xs + r * cols, a.data() + r * blocks, cols, residual);
  return a;
}

// The Q8 path for several weights sharing activations x: x quantized once, every product's rows cut into chunks of
// one schedule, so a decode layer forks once for q/k/v (or gate/up) instead of once per weight.
void matmul_q8(const Tensor& x, std::span<const WeightProduct> products, bool accumulate, ProductKind kind) {
  const bool residual = activations_have_residual(kind, GemmPath::Q8);
  const int64_t n = x.rows, cols = x.cols, blocks = cols / kQ8Block;
  const std::vector<Q8Block> a = quantize_rows(x, residual, kind);
  struct Chunk {
    std::size_t product;
    int64_t begin, end;
  };
  int64_t total_rows = 0;
  for (const WeightProduct& p : products) total_rows += p.w->rows;
  const int64_t chunk = chunk_rows(total_rows, 8, 8, 64);
  std::vector<Chunk> chunks;
  std::vector<RowDot> dots;
  for (std::size_t i = 0; i < products.size(); ++i) {
    const int64_t rows = products[i].w->rows;
    for (int64_t r0 = 0; r0 < rows; r0 += chunk) chunks.push_back({i, r0, std::min(rows, r0 + chunk)});
    dots.push_back(row_dot(products[i].w->dtype, active_isa(), residual));
  }
  const auto n_chunks = static_cast<int64_t>(chunks.size());
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < n_chunks; ++c) {
    const Chunk& ch = chunks[static_cast<std::size_t>(c)];
    const Tensor& w = *products[ch.product].w;
    const RowDot dot = dots[ch.product];
    const int64_t rows = w.rows, rb = dtype_row_bytes(w.dtype, cols);
    auto* o = static_cast<float*>(products[ch.product].out->data);
    for (int64_t i = ch.begin; i < ch.end; ++i) {
      const uint8_t* wr = row_bytes(w, i, rb);
      for (int64_t r = 0; r < n; ++r) {
        const float y = dot(wr, a.data() + r * blocks, cols);
        o[r * rows + i] = accumulate ? o[r * rows + i] + y : y;
      }
    }
  }
}

// 16-bit weights at decode sizes: widened in registers, activations stay fp32.
void matmul_half(const Tensor& x, const Tensor& w, Tensor& out) {
  const int64_t n = x.rows, cols = x.cols, rows = w.rows;
  const HalfDot dot = half_dot(w.dtype, active_isa());
  const auto* xs = static_cast<const float*>(x.data);
  const auto* ws = static_cast<const uint16_t*>(w.data);
  auto* o = static_cast<float*>(out.data);
  const int64_t chunk = chunk_rows(rows, 8, 8, 64);
  const int64_t n_chunks = (rows + chunk - 1) / chunk;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t c = 0; c < n_chunks; ++c) {
    const int64_t end = std::min(rows, (c + 1) * chunk);
    for (int64_t i = c * chunk; i < end; ++i)
      for (int64_t r = 0; r < n; ++r) o[r * rows + i] = dot(ws + i * cols, xs + r * cols, cols);
  }
}

// The int8 GEMM for weights sharing x (q/k/v, gate/up): x quantized once.
void matmul_int8(const Tensor& x, std::span<const WeightProduct> products, bool accumulate, ProductKind kind) {
  const bool residual = activations_have_residual(kind, GemmPath::Int8);
  const std::vector<Q8Block> a = quantize_rows(x, residual, kind);
  for (const WeightProduct& p : products)
    int8_gemm(p.w->dtype, static_cast<const uint8_t*>(p.w->data), p.w->rows, x.cols, a.data(), x.rows, residual,
              static_cast<float*>(p.out->data), p.w->rows, accumulate);
}

void matmul_dequant_tiles(const Tensor& x, const Tensor& w, Tensor& out) {
  const int64_t n = x.rows, cols = x.cols, rows = w.rows;
  const int64_t rb = dtype_row_bytes(w.dtype, cols);
  const StorageType st = storage_for_dtype(w.dtype);
  // Fewer, larger tiles than the Q8 path's chunks: sgemm runs better on [n, 256] blocks than on [n, 64] ones.
  const int64_t tile = chunk_rows(rows, 2, 32, 256);
  const int64_t n_tiles = (rows + tile - 1) / tile;
  const auto* xs = static_cast<const float*>(x.data);
  auto* o = static_cast<float*>(out.data);
  // Inside the parallel region OpenBLAS (OpenMP build) runs each call on the calling thread.
#pragma omp parallel
  {
    std::vector<float> buf(static_cast<std::size_t>(tile * cols));
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < n_tiles; ++t) {
      const int64_t r0 = t * tile, m = std::min(tile, rows - r0);
      for (int64_t i = 0; i < m; ++i)
        dequantize_row(st, reinterpret_cast<const std::byte*>(row_bytes(w, r0 + i, rb)), buf.data() + i * cols, cols);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(m),
                  static_cast<int>(cols), 1.0f, xs, static_cast<int>(cols), buf.data(), static_cast<int>(cols), 0.0f,
                  o + r0, static_cast<int>(rows));
    }
  }
}

}  // namespace

GemmPath gemm_path(DType weight, int64_t n) {
  static const GemmPath env = env_path();
  auto forced = static_cast<GemmPath>(g_forced_path.load(std::memory_order_relaxed));
  if (forced == GemmPath::Auto) forced = env;
  if (forced == GemmPath::Int8 && !int8_gemm_supports(weight, active_isa())) return GemmPath::DequantTile;
  if (forced != GemmPath::Auto) return forced;
  if (n < kDequantTileMinRows) return GemmPath::Q8;
  return int8_gemm_supports(weight, active_isa()) ? GemmPath::Int8 : GemmPath::DequantTile;
}

void force_residual_activations(std::optional<bool> on) {
  g_residual.store(on ? static_cast<int>(*on) : -1, std::memory_order_relaxed);
}

bool activations_have_residual(ProductKind kind, GemmPath path) {
  if (const std::optional<bool> forced = forced_residual()) return *forced;
  return path != GemmPath::Int8 || kPrefillLevels[static_cast<int>(kind)];
}

void set_activation_filter(ActivationFilter f) {
  g_filter.store(f, std::memory_order_relaxed);
}

void force_gemm_path(GemmPath path) {
  g_forced_path.store(static_cast<int>(path), std::memory_order_relaxed);
}

void weight_matmul(const Tensor& x, const Tensor& w, Tensor& out) {
  require(x.dtype == DType::F32 && out.dtype == DType::F32 && w.dtype != DType::F32,
          "cpu weight matmul: fp32 activations and a stored weight expected");
  const GemmPath path = gemm_path(w.dtype, x.rows);
  if (path == GemmPath::Int8)
    matmul_int8(x, std::span<const WeightProduct>({WeightProduct{&w, &out}}), false, ProductKind::Plain);
  else if (path == GemmPath::DequantTile)
    matmul_dequant_tiles(x, w, out);
  else if (is_block_quant(w.dtype))
    matmul_q8(x, std::span<const WeightProduct>({WeightProduct{&w, &out}}), false, ProductKind::Plain);
  else
    matmul_half(x, w, out);
}

bool weight_matmul_group(const Tensor& x, std::span<const WeightProduct> products, bool accumulate, ProductKind kind) {
  const GemmPath path = gemm_path(products.front().w->dtype, x.rows);
  for (const WeightProduct& p : products) {
    if (!is_block_quant(p.w->dtype) || gemm_path(p.w->dtype, x.rows) != path ||
        (path != GemmPath::Q8 && path != GemmPath::Int8))
      return false;
    require(x.dtype == DType::F32 && p.w->cols == x.cols && p.out->dtype == DType::F32 && p.out->rows == x.rows &&
                p.out->cols == p.w->rows,
            "cpu weight matmul: shapes [{}, {}] x [{}, {}]^T into [{}, {}]", x.rows, x.cols, p.w->rows, p.w->cols,
            p.out->rows, p.out->cols);
  }
  if (path == GemmPath::Int8)
    matmul_int8(x, products, accumulate, kind);
  else
    matmul_q8(x, products, accumulate, kind);
  return true;
}

void weight_row_f32(const Tensor& w, int64_t row, float* out) {
  const int64_t rb = dtype_row_bytes(w.dtype, w.cols);
  dequantize_row(storage_for_dtype(w.dtype), reinterpret_cast<const std::byte*>(row_bytes(w, row, rb)), out, w.cols);
}

std::string execution_type(DType weight) {
  if (weight == DType::F32) return "f32";
  if (is_block_quant(weight))
    return std::string(dtype_name(weight)) + (forced_residual().value_or(true) ? " x q8x2" : " x q8");
  return std::string(dtype_name(weight)) + " x f32";
}

}  // namespace flux::engine::cpu
