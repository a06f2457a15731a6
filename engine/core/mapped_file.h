// Read-only memory map of a whole file: model weights are read in place, never copied into RAM up front. The map
// is guarded (mapping_guard.h): if another process truncates the file, reads of the lost pages give zeros instead of
// SIGBUS, and check_unchanged() reports it; the descriptor stays open so the file is watched, not its path.
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

  // Throws Error "<path> changed while it was being read (truncated to N bytes)" (or grown, or rewritten) when the
  // file no longer has the size and modification time it had when mapped, or a read hit a truncated page. Call it
  // after reading the mapping and before using what was read.
  void check_unchanged() const;

 private:
  void release() noexcept;

  std::filesystem::path path_;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
  int fd_ = -1;
  int guard_slot_ = -1;
  long long mtime_ns_ = 0;
};

}  // namespace flux::engine
