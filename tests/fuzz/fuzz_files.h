// Where fuzz inputs live while a parser reads them: an anonymous in-memory file (memfd) reopened through
// /proc/self/fd, so path-based readers (mmap, ifstream) see exactly the fuzz bytes without touching the disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

namespace flux::fuzz {

class MemFile {
 public:
  explicit MemFile(const char* name);
  ~MemFile();
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  // Replaces the content and returns a path that opens it.
  std::filesystem::path write(std::span<const uint8_t> bytes);

 private:
  int fd_ = -1;
};

// A private directory (under $TMPDIR) for entries that need real file names, e.g. a sharded model folder; removed
// at exit.
const std::filesystem::path& scratch_dir();
void write_file(const std::filesystem::path& path, std::span<const uint8_t> bytes);
void write_file(const std::filesystem::path& path, const std::string& text);

}  // namespace flux::fuzz
