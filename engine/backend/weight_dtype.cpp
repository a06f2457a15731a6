#include "engine/backend/weight_dtype.h"

#include "engine/core/error.h"
#include "engine/format/ggml_quant.h"

namespace flux::engine {

std::optional<DType> dtype_for_storage(StorageType type) {
  switch (type) {
    case StorageType::F32:
      return DType::F32;
    case StorageType::BF16:
      return DType::BF16;
    case StorageType::F16:
      return DType::F16;
    case StorageType::Q4_0:
      return DType::Q4_0;
    case StorageType::Q4_1:
      return DType::Q4_1;
    case StorageType::Q5_0:
      return DType::Q5_0;
    case StorageType::Q5_1:
      return DType::Q5_1;
    case StorageType::Q8_0:
      return DType::Q8_0;
    case StorageType::Q4_K:
      return DType::Q4_K;
    case StorageType::Q5_K:
      return DType::Q5_K;
    case StorageType::Q6_K:
      return DType::Q6_K;
    default:
      return std::nullopt;
  }
}

StorageType storage_for_dtype(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return StorageType::F32;
    case DType::BF16:
      return StorageType::BF16;
    case DType::F16:
      return StorageType::F16;
    case DType::Q4_0:
      return StorageType::Q4_0;
    case DType::Q4_1:
      return StorageType::Q4_1;
    case DType::Q5_0:
      return StorageType::Q5_0;
    case DType::Q5_1:
      return StorageType::Q5_1;
    case DType::Q8_0:
      return StorageType::Q8_0;
    case DType::Q4_K:
      return StorageType::Q4_K;
    case DType::Q5_K:
      return StorageType::Q5_K;
    case DType::Q6_K:
      return StorageType::Q6_K;
  }
  fail("unknown weight dtype {}", static_cast<int>(dtype));
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return "f32";
    case DType::BF16:
      return "bf16";
    case DType::F16:
      return "f16";
    case DType::Q4_0:
      return "q4_0";
    case DType::Q4_1:
      return "q4_1";
    case DType::Q5_0:
      return "q5_0";
    case DType::Q5_1:
      return "q5_1";
    case DType::Q8_0:
      return "q8_0";
    case DType::Q4_K:
      return "q4_k";
    case DType::Q5_K:
      return "q5_k";
    case DType::Q6_K:
      return "q6_k";
  }
  return "?";
}

bool is_block_quant(DType dtype) {
  return is_quantized(storage_for_dtype(dtype));
}

int64_t dtype_row_bytes(DType dtype, int64_t cols) {
  return tensor_bytes(storage_for_dtype(dtype), cols);
}

}  // namespace flux::engine
