// A backend-owned 2-D tensor handle: rows are tokens (activations) or output features (weights), row-major.
// The storage belongs to the backend that allocated it; model code only passes handles around.
#pragma once

#include <cstdint>
#include <memory>

namespace flux::engine {

// How a tensor's elements are stored. Activations are F32 (BF16 on CUDA); weights may also keep their file's
// 16-bit or GGML block layout on the CPU (weight_dtype.h: names and row sizes).
enum class DType : uint8_t { F32, BF16, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K };

struct Tensor {
  std::shared_ptr<void> storage;  // keeps the allocation alive; type known only to the owning backend
  void* data = nullptr;
  DType dtype = DType::F32;
  int64_t rows = 0;
  int64_t cols = 0;

  int64_t numel() const { return rows * cols; }
  bool empty() const { return data == nullptr; }
};

// Rows [begin, end) of a tensor.
struct RowRange {
  int64_t begin = 0, end = 0;
};

}  // namespace flux::engine
