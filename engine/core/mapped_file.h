// Read-only memory map of a whole file: model weights are read in place, never copied into RAM up front.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>

namespace flux::engine {

class MappedFile {
 public:
  // Throws Error if the file cannot be opened or mapped (the message names the path and the OS reason).
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  void release() noexcept;

  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace flux::engine
