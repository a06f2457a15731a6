#include "engine/core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "engine/core/error.h"
#include "engine/core/input_file.h"
#include "engine/core/mapping_guard.h"

namespace flux::engine {
namespace {

long long mtime_ns(const struct stat& st) { return st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec; }

}  // namespace

MappedFile::MappedFile(const std::filesystem::path& path) : path_(path) {
  const InputFile file(path, "model file");  // refuses FIFOs, devices and folders without blocking
  size_ = file.size();
  if (size_ == 0) return;
  fd_ = ::fcntl(file.fd(), F_DUPFD_CLOEXEC, 0);
  if (fd_ < 0) fail("{}: cannot keep the model file open: {}", path.string(), std::strerror(errno));
  struct stat st {};
  if (::fstat(fd_, &st) == 0) mtime_ns_ = mtime_ns(st);
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
  if (p == MAP_FAILED) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    fail("{}: cannot map {} bytes: {}", path.string(), size_, std::strerror(err));
  }
  data_ = static_cast<const std::byte*>(p);
  guard_slot_ = guard_mapping(data_, size_, fd_);
}

MappedFile::~MappedFile() { release(); }

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      fd_(std::exchange(other.fd_, -1)),
      guard_slot_(std::exchange(other.guard_slot_, -1)),
      mtime_ns_(other.mtime_ns_) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    fd_ = std::exchange(other.fd_, -1);
    guard_slot_ = std::exchange(other.guard_slot_, -1);
    mtime_ns_ = other.mtime_ns_;
  }
  return *this;
}

void MappedFile::check_unchanged() const {
  if (fd_ < 0) return;
  struct stat st {};
  require(::fstat(fd_, &st) == 0, "{}: cannot stat the model file: {}", path_.string(), std::strerror(errno));
  const auto now = static_cast<std::size_t>(st.st_size);
  if (now < size_ || mapping_damaged(guard_slot_))
    fail("{} changed while it was being read (truncated to {} bytes, was {}): load the model again",
         path_.string(), now, size_);
  if (now > size_)
    fail("{} changed while it was being read (now {} bytes, was {}): load the model again", path_.string(), now,
         size_);
  if (mtime_ns(st) != mtime_ns_)
    fail("{} changed while it was being read (rewritten in place since it was opened): load the model again",
         path_.string());
}

void MappedFile::release() noexcept {
  unguard_mapping(guard_slot_);  // before munmap: a later mapping may reuse the addresses
  guard_slot_ = -1;
  if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
  if (fd_ >= 0) ::close(fd_);
  data_ = nullptr;
  size_ = 0;
  fd_ = -1;
}

}  // namespace flux::engine
