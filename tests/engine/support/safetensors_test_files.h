// Test helper: writes safetensors files with a hand-written JSON header (for malformed-file tests) or through the
// engine's writer (for well-formed ones), into the per-process temp dir of gguf_builder.h.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/format/safetensors_writer.h"
#include "tests/engine/support/gguf_builder.h"

namespace flux::test {

// u64 header length + header text exactly as given + data bytes.
inline std::filesystem::path write_raw_safetensors(const std::string& name, const std::string& header,
                                                   const std::vector<uint8_t>& data) {
  GgufEncoder e;
  e.put<uint64_t>(header.size());
  e.buf.insert(e.buf.end(), header.begin(), header.end());
  e.bytes(data);
  return write_test_file(name, e.buf);
}

// An F32 tensor for write_safetensors; keeps its values alive alongside the entry.
struct F32Tensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
  engine::SafetensorsEntry entry() const {
    return {name, engine::StorageType::F32, shape, std::as_bytes(std::span<const float>(values))};
  }
};

inline std::filesystem::path write_f32_safetensors(const std::filesystem::path& path,
                                                   const std::vector<F32Tensor>& tensors) {
  std::vector<engine::SafetensorsEntry> entries;
  for (const auto& t : tensors) entries.push_back(t.entry());
  std::filesystem::create_directories(path.parent_path());
  engine::write_safetensors(path, entries);
  return path;
}

}  // namespace flux::test
