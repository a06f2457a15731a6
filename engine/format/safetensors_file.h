// Reader for safetensors files and sharded HF model directories: validated like the reference (huggingface/
// safetensors) library, tensors exposed as views into shared memory maps.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/mapped_file.h"
#include "engine/core/tensor_view.h"

namespace flux::engine {

// safetensors dtype strings ("F32", "BF16", ...) <-> StorageType; nullopt for dtypes this engine does not know.
std::optional<StorageType> storage_type_from_safetensors(std::string_view dtype);
const char* safetensors_dtype_name(StorageType type);  // Error for GGML quant types

class SafetensorsFile {
 public:
  static constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference library's limit

  // Maps and validates the file; throws Error naming the file and tensor at fault.
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  std::shared_ptr<const MappedFile> mapping() const { return file_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }  // "__metadata__"
  const std::vector<TensorView>& tensors() const { return tensors_; }               // in data order
  const TensorView* find_tensor(std::string_view name) const;

 private:
  std::filesystem::path path_;
  std::shared_ptr<const MappedFile> file_;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

// The tensors of a HF model: a directory with model.safetensors.index.json (shards) or model.safetensors, or a
// single .safetensors file.
class SafetensorsModel {
 public:
  static SafetensorsModel open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::vector<SafetensorsFile>& shards() const { return shards_; }
  // Shard metadata ("__metadata__") of a single file, or the index's "metadata" object rendered as strings.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<TensorView>& tensors() const { return tensors_; }  // shard by shard, in data order
  const TensorView* find_tensor(std::string_view name) const;
  const TensorView& tensor(std::string_view name) const;  // Error naming the model path if absent

 private:
  void add_shard(SafetensorsFile shard);

  std::filesystem::path path_;
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorView> tensors_;
  std::vector<std::size_t> tensor_shard_;  // shard index of each tensor, for duplicate messages
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace flux::engine
