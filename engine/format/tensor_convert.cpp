#include "engine/format/tensor_convert.h"

#include <cstring>

#include "engine/core/error.h"
#include "engine/format/ggml_quant.h"

namespace flux::engine {
namespace {

// Below this many elements, thread start-up costs more than the conversion.
constexpr int64_t kParallelThreshold = 1 << 16;

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Returns the row length after checking that t's type converts, its bytes match its shape, and rows are whole
// blocks — so the parallel loops below never need to throw.
int64_t checked_row_length(const TensorView& t) {
  require(is_float_storage(t.type), "tensor {}: cannot convert {} to f32", t.name, storage_type_name(t.type));
  int64_t numel = 1;
  for (int64_t d : t.shape) {
    require(d >= 0, "tensor {}: negative dimension in shape {}", t.name, shape_string(t.shape));
    require(!__builtin_mul_overflow(numel, d, &numel), "tensor {}: element count of shape {} overflows", t.name,
            shape_string(t.shape));
  }
  const int64_t row = t.shape.empty() ? 1 : t.shape.back();
  require(row % block_elems(t.type) == 0, "tensor {}: row length {} is not a multiple of the {} block size {}", t.name,
          row, storage_type_name(t.type), block_elems(t.type));
  const int64_t bytes = tensor_bytes(t.type, numel);
  require(static_cast<int64_t>(t.bytes.size()) == bytes, "tensor {}: {} bytes, but {} {} needs {}", t.name,
          t.bytes.size(), storage_type_name(t.type), shape_string(t.shape), bytes);
  return row;
}

void convert_rows(const TensorView& t, int64_t row_len, int64_t row_begin, int64_t n_rows, float* out) {
  if (row_len == 0 || n_rows == 0) return;
  const int64_t row_bytes = row_len / block_elems(t.type) * block_bytes(t.type);
  const std::byte* base = t.bytes.data() + row_begin * row_bytes;
  if (t.type == StorageType::F64) {
    const int64_t n = n_rows * row_len;
    for (int64_t i = 0; i < n; ++i) {
      double v;
      std::memcpy(&v, base + i * 8, sizeof v);
      out[i] = static_cast<float>(v);
    }
    return;
  }
  if (t.type == StorageType::F32) {
    std::memcpy(out, base, static_cast<std::size_t>(n_rows * row_len) * sizeof(float));
    return;
  }
  const bool parallel = n_rows > 1 && n_rows * row_len >= kParallelThreshold;
#pragma omp parallel for schedule(static) if (parallel)
  for (int64_t r = 0; r < n_rows; ++r) dequantize_row(t.type, base + r * row_bytes, out + r * row_len, row_len);
}

}  // namespace

bool is_float_storage(StorageType type) {
  switch (type) {
    case StorageType::F32:
    case StorageType::F16:
    case StorageType::BF16:
    case StorageType::F64:
      return true;
    default:
      return is_quantized(type);
  }
}

void to_f32(const TensorView& t, std::span<float> out) {
  const int64_t row = checked_row_length(t);
  const int64_t numel = t.numel();
  require(static_cast<int64_t>(out.size()) == numel, "tensor {}: output holds {} floats, tensor has {}", t.name,
          out.size(), numel);
  convert_rows(t, row, 0, row == 0 ? 0 : numel / row, out.data());
}

std::vector<float> to_f32(const TensorView& t) {
  checked_row_length(t);
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  to_f32(t, out);
  return out;
}

void rows_to_f32(const TensorView& t, int64_t row_begin, int64_t n_rows, std::span<float> out) {
  const int64_t row = checked_row_length(t);
  const int64_t total_rows = row == 0 ? 0 : t.numel() / row;
  require(row_begin >= 0 && n_rows >= 0 && row_begin <= total_rows && n_rows <= total_rows - row_begin,
          "tensor {}: rows [{}, {}) out of range (tensor has {} rows)", t.name, row_begin, row_begin + n_rows,
          total_rows);
  require(static_cast<int64_t>(out.size()) == n_rows * row, "tensor {}: output holds {} floats, {} rows need {}",
          t.name, out.size(), n_rows, n_rows * row);
  convert_rows(t, row, row_begin, n_rows, out.data());
}

}  // namespace flux::engine
