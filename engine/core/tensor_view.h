// A named, typed, shaped view of tensor bytes inside a mapped file — what every loader produces, before any
// conversion. Shapes are in PyTorch order (outermost first): a Linear weight is [out, in].
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace flux::engine {

// Storage types of tensors in model files (GGML block quants and safetensors dtypes).
enum class StorageType : uint8_t {
  F32, F16, BF16, F64,
  I8, U8, I16, I32, I64, Bool, F8_E4M3, F8_E5M2,
  Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K,
  Q2_K, Q3_K, IQ4_NL, IQ4_XS,
};

const char* storage_type_name(StorageType type);

struct TensorView {
  std::string name;
  StorageType type = StorageType::F32;
  std::vector<int64_t> shape;          // outermost first
  std::span<const std::byte> bytes;    // exactly the tensor's bytes, inside the mapped file

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
  }
};

}  // namespace flux::engine
