// CudaBackend's block weights: GGML blocks uploaded as the file stores them, so an 8B Q4_K model holds ~4.7 GB on
// the device and a decode step reads that much, not the ~16 GB of bf16. Decode GEMVs decode the blocks in
// registers (kernels/quant_gemv.cu); everything else (prefill GEMMs, embeddings) reads a bf16 copy made right
// before use — for a prefill the dequantization costs one read of the blocks and one write of bf16 per weight,
// small next to the GEMM it feeds.
#include <cstdint>
#include <cstring>
#include <optional>

#include "engine/backend/weight_dtype.h"
#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"
#include "kernels/launch.h"
#include "kernels/quant_launch.h"

namespace flux::kernels {
namespace {

using engine::DType;
using engine::require;

std::optional<QuantType> quant_type(DType d) {
  switch (d) {
    case DType::Q4_0: return QuantType::Q4_0;
    case DType::Q4_1: return QuantType::Q4_1;
    case DType::Q5_0: return QuantType::Q5_0;
    case DType::Q5_1: return QuantType::Q5_1;
    case DType::Q8_0: return QuantType::Q8_0;
    case DType::Q4_K: return QuantType::Q4_K;
    case DType::Q5_K: return QuantType::Q5_K;
    case DType::Q6_K: return QuantType::Q6_K;
    default: return std::nullopt;
  }
}

QuantMatrix quant_matrix(const Tensor& w) {
  QuantMatrix m;
  m.blocks = w.data;
  m.type = *quant_type(w.dtype);
  m.row_bytes = engine::dtype_row_bytes(w.dtype, w.cols);
  m.rows = w.rows;
  return m;
}

int epilogue_code(GemvEpilogue e) {
  switch (e) {
    case GemvEpilogue::Store: return 0;
    case GemvEpilogue::Accumulate: return 1;
    case GemvEpilogue::SwiGLU: return 2;
  }
  return 0;
}

}  // namespace

Tensor CudaBackend::upload_weight(engine::StorageType type, std::span<const std::byte> bytes, int64_t rows,
                                  int64_t cols, std::shared_ptr<const void> mapping) {
  const std::optional<DType> dtype = engine::dtype_for_storage(type);
  if (!dtype || !quant_type(*dtype)) return Backend::upload_weight(type, bytes, rows, cols, std::move(mapping));
  const int64_t row_bytes = engine::dtype_row_bytes(*dtype, cols);
  require(static_cast<int64_t>(bytes.size()) == rows * row_bytes,
          "cuda backend: {} weight [{}, {}] of {} bytes (expected {})", engine::dtype_name(*dtype), rows, cols,
          bytes.size(), rows * row_bytes);
  Tensor t;
  // 16 spare bytes: the decode GEMV reads whole 16-byte words, so a row's last chunk may reach up to 15 past it.
  t.storage = allocate(bytes.size() + 16);
  t.data = t.storage.get();
  require(reinterpret_cast<std::uintptr_t>(t.data) % 16 == 0, "cuda backend: a weight buffer is not 16-byte aligned");
  t.dtype = *dtype;
  t.rows = rows;
  t.cols = cols;
  FLUX_CUDA_CHECK(cudaMemcpyAsync(t.data, bytes.data(), bytes.size(), cudaMemcpyHostToDevice, ctx_->stream));
  FLUX_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));  // `bytes` may be a buffer the caller frees next
  return t;
}

std::string CudaBackend::weight_execution(const Tensor& w) const {
  if (!quant_type(w.dtype)) return "bf16";
  return std::string(engine::dtype_name(w.dtype)) + " (int8 dp4a GEMV, bf16 GEMM)";
}

Tensor CudaBackend::dequantized(const Tensor& w) {
  if (!quant_type(w.dtype)) return w;
  Tensor t = empty(w.rows, w.cols);
  launch_dequantize_rows(quant_matrix(w), w.cols, nullptr, w.rows, static_cast<bf16*>(t.data), ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("dequantize weight");
  return t;
}

void CudaBackend::embed_rows(const Tensor& table, const int32_t* ids, int64_t n, Tensor& out) {
  require(quant_type(table.dtype).has_value(), "cuda backend: embedding table of type {}",
          engine::dtype_name(table.dtype));
  launch_dequantize_rows(quant_matrix(table), table.cols, ids, n, static_cast<bf16*>(out.data), ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("embed (block table)");
}

bool CudaBackend::quant_gemv(const Tensor& x, const Tensor* const* w, Tensor* const* y, int count,
                             GemvEpilogue epilogue, const GemvNorm* norm) {
  if (!use_gemv_ || x.rows != 1) return false;
  QuantGemvJob job;
  job.count = count;
  if (norm != nullptr) {
    job.norm = static_cast<const bf16*>(norm->weight->data);
    job.eps = norm->eps;
  }
  for (int m = 0; m < count; ++m) {
    if (!quant_type(w[m]->dtype)) return false;
    require(w[m]->cols == x.cols, "cuda backend: matmul inner dimensions differ ({} vs {})", x.cols, w[m]->cols);
    job.w[m] = quant_matrix(*w[m]);
  }
  const int outputs = epilogue == GemvEpilogue::SwiGLU ? 1 : count;
  for (int m = 0; m < outputs; ++m) {
    require(y[m]->rows == 1 && y[m]->cols == w[m]->rows, "cuda backend: matmul output has shape [{}, {}], expected "
            "[1, {}]", y[m]->rows, y[m]->cols, w[m]->rows);
    job.y[m] = static_cast<bf16*>(y[m]->data);
  }
  if (!launch_quant_gemv(static_cast<const bf16*>(x.data), job, epilogue_code(epilogue), x.cols, ctx_->stream))
    return false;
  FLUX_CUDA_CHECK_LAUNCH("quant gemv");
  return true;
}

}  // namespace flux::kernels
