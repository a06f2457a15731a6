// A backend-owned 2-D tensor handle: rows are tokens (activations) or output features (weights), row-major.
// The storage belongs to the backend that allocated it; model code only passes handles around.
#pragma once

#include <cstdint>
#include <memory>

namespace flux::engine {

enum class DType : uint8_t { F32, BF16 };

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
