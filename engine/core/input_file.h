// Opening the files users hand us (models, configs, tokenizers, router and route files, prompts) so that nothing
// blocks and nothing floods memory: a FIFO, a device or a folder is refused by name before any read (opened with
// O_NONBLOCK, then fstat), and whole-file reads are bounded.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace flux::engine {

inline constexpr std::size_t kMaxTextInputBytes = std::size_t{512} << 20;  // tokenizer.json files reach ~30 MB

// An open read-only descriptor of a regular file; closes on destruction.
class InputFile {
 public:
  // Throws Error "<path>: cannot open the <what>: <reason>" / "<path>: the <what> is a FIFO, not a regular file" (or
  // a folder, a device, a socket). `what` names the file's role ("model file", "route file", …).
  InputFile(const std::filesystem::path& path, std::string_view what);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  int fd() const { return fd_; }
  std::size_t size() const { return size_; }

 private:
  int fd_ = -1;
  std::size_t size_ = 0;
};

// The whole content of a regular file of at most max_bytes; throws Error naming the path and the reason (not a
// regular file, larger than the limit in MiB, a read error).
std::string read_input_file(const std::filesystem::path& path, std::string_view what,
                            std::size_t max_bytes = kMaxTextInputBytes);

}  // namespace flux::engine
