// Weight storage kinds a backend may keep (DType) and the file storage types they come from: the one place that
// maps between them, names them and sizes their rows.
#pragma once

#include <cstdint>
#include <optional>

#include "engine/backend/tensor.h"
#include "engine/core/tensor_view.h"

namespace flux::engine {

// The DType that keeps a file type's bytes unchanged; nullopt for types no backend executes directly.
std::optional<DType> dtype_for_storage(StorageType type);
StorageType storage_for_dtype(DType dtype);
const char* dtype_name(DType dtype);  // "f32", "bf16", "q4_1", ...
bool is_block_quant(DType dtype);
// Bytes of one row of `cols` elements (cols a whole number of blocks).
int64_t dtype_row_bytes(DType dtype, int64_t cols);

}  // namespace flux::engine
