// Writer of safetensors files that streams tensor data to disk, so converting a model never holds a second copy of
// all weights in memory. Output follows the reference layout (header padded with spaces to 8 bytes).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/tensor_view.h"

namespace flux::engine {

struct SafetensorsTensorSpec {
  std::string name;
  StorageType dtype = StorageType::F32;  // any safetensors dtype (F32, BF16, F16, ...), not GGML quants
  std::vector<int64_t> shape;
};

// Writes the header on construction (tensors laid out in name order), then accepts each tensor's bytes once, in any
// order. Data goes to "<path>.tmp", renamed to path by finish(); destroying an unfinished writer removes it.
class SafetensorsWriter {
 public:
  SafetensorsWriter(const std::filesystem::path& path, std::vector<SafetensorsTensorSpec> specs,
                    const std::map<std::string, std::string>& metadata = {});
  ~SafetensorsWriter();
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // bytes.size() must equal the tensor's size; each tensor exactly once. Error naming the path or tensor otherwise.
  void write_tensor(std::string_view name, std::span<const std::byte> bytes);
  // Checks every tensor was written, flushes, and renames into place.
  void finish();

  const std::vector<SafetensorsTensorSpec>& specs() const { return specs_; }  // sorted by name

 private:
  void close_file() noexcept;

  std::filesystem::path path_;
  std::filesystem::path tmp_path_;
  std::vector<SafetensorsTensorSpec> specs_;
  std::vector<uint64_t> offsets_;  // absolute file offset of each spec's data
  std::vector<uint64_t> sizes_;
  std::vector<bool> written_;
  int fd_ = -1;
};

struct SafetensorsEntry {
  std::string name;
  StorageType dtype = StorageType::F32;
  std::vector<int64_t> shape;
  std::span<const std::byte> bytes;
};

// One-shot convenience over SafetensorsWriter for tensors already in memory.
void write_safetensors(const std::filesystem::path& path, std::span<const SafetensorsEntry> tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace flux::engine
