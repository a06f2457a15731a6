#include "engine/core/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/core/error.h"

namespace flux::engine {
namespace {

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a folder";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a plain file";
}

}  // namespace

InputFile::InputFile(const std::filesystem::path& path, std::string_view what) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. It has no effect on the reads
  // of a regular file, the only kind accepted below.
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd_ < 0) fail("{}: cannot open the {}: {}", path.string(), what, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    fail("{}: cannot stat the {}: {}", path.string(), what, std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    fail("{}: the {} is {}, not a regular file", path.string(), what, kind_of(st.st_mode));
  }
  size_ = static_cast<std::size_t>(st.st_size);
}

InputFile::~InputFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::string read_input_file(const std::filesystem::path& path, std::string_view what, std::size_t max_bytes) {
  const InputFile file(path, what);
  require(file.size() <= max_bytes, "{}: the {} is {:.1f} MiB, more than the {:.0f} MiB such a file may have",
          path.string(), what, static_cast<double>(file.size()) / (1 << 20),
          static_cast<double>(max_bytes) / (1 << 20));
  std::string text(file.size(), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(file.fd(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    require(n >= 0, "{}: cannot read the {}: {}", path.string(), what, std::strerror(errno));
    if (n == 0) break;  // shrank while we read: keep what is there
    done += static_cast<std::size_t>(n);
  }
  text.resize(done);
  return text;
}

}  // namespace flux::engine
