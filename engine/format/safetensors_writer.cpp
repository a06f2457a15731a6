#include "engine/format/safetensors_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/format/ggml_quant.h"
#include "engine/format/safetensors_file.h"

namespace flux::engine {
namespace {

void write_all(int fd, const std::byte* data, std::size_t n, uint64_t offset, const std::filesystem::path& path) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) fail("{}: write failed: {}", path.string(), std::strerror(errno));
    data += w;
    n -= static_cast<std::size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
}

}  // namespace

SafetensorsWriter::SafetensorsWriter(const std::filesystem::path& path, std::vector<SafetensorsTensorSpec> specs,
                                     const std::map<std::string, std::string>& metadata)
    : path_(path), tmp_path_(path.string() + ".tmp"), specs_(std::move(specs)) {
  std::sort(specs_.begin(), specs_.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  // ordered_json keeps __metadata__ first and tensors in name order, as the reference writer does.
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    const auto& s = specs_[i];
    require(!s.name.empty() && s.name != "__metadata__", "{}: invalid tensor name '{}'", path.string(), s.name);
    require(i == 0 || specs_[i - 1].name != s.name, "{}: duplicate tensor {}", path.string(), s.name);
    int64_t numel = 1;
    for (int64_t d : s.shape)
      require(d >= 0 && !__builtin_mul_overflow(numel, d, &numel), "{}: tensor {}: invalid shape", path.string(),
              s.name);
    const auto size = static_cast<uint64_t>(tensor_bytes(s.dtype, numel));
    header[s.name] = {
        {"dtype", safetensors_dtype_name(s.dtype)}, {"shape", s.shape}, {"data_offsets", {offset, offset + size}}};
    offsets_.push_back(offset);
    sizes_.push_back(size);
    offset += size;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  for (auto& o : offsets_) o += 8 + text.size();
  written_.assign(specs_.size(), false);

  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail("{}: cannot open for writing: {}", path.string(), std::strerror(errno));
  const uint64_t n = text.size();
  try {
    write_all(fd_, reinterpret_cast<const std::byte*>(&n), 8, 0, path_);
    write_all(fd_, reinterpret_cast<const std::byte*>(text.data()), text.size(), 8, path_);
  } catch (...) {
    close_file();
    throw;
  }
}

SafetensorsWriter::~SafetensorsWriter() {
  close_file();
}

void SafetensorsWriter::close_file() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
    std::error_code ec;
    std::filesystem::remove(tmp_path_, ec);
  }
}

void SafetensorsWriter::write_tensor(std::string_view name, std::span<const std::byte> bytes) {
  require(fd_ >= 0, "{}: tensor {} written after finish()", path_.string(), name);
  auto it = std::lower_bound(specs_.begin(), specs_.end(), name,
                             [](const SafetensorsTensorSpec& s, std::string_view n) { return s.name < n; });
  require(it != specs_.end() && it->name == name, "{}: tensor {} was not declared", path_.string(), name);
  const auto i = static_cast<std::size_t>(it - specs_.begin());
  require(!written_[i], "{}: tensor {} written twice", path_.string(), name);
  require(bytes.size() == sizes_[i], "{}: tensor {}: got {} bytes, its {} shape needs {}", path_.string(), name,
          bytes.size(), storage_type_name(it->dtype), sizes_[i]);
  write_all(fd_, bytes.data(), bytes.size(), offsets_[i], path_);
  written_[i] = true;
}

void SafetensorsWriter::finish() {
  require(fd_ >= 0, "{}: finish() called twice", path_.string());
  for (std::size_t i = 0; i < specs_.size(); ++i)
    require(written_[i], "{}: tensor {} was never written", path_.string(), specs_[i].name);
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) fail("{}: close failed: {}", path_.string(), std::strerror(errno));
  std::error_code ec;
  std::filesystem::rename(tmp_path_, path_, ec);
  if (ec) {
    const std::string reason = ec.message();
    std::filesystem::remove(tmp_path_, ec);
    fail("{}: cannot rename {} into place: {}", path_.string(), tmp_path_.string(), reason);
  }
}

void write_safetensors(const std::filesystem::path& path, std::span<const SafetensorsEntry> tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<SafetensorsTensorSpec> specs;
  specs.reserve(tensors.size());
  for (const auto& t : tensors) specs.push_back({t.name, t.dtype, t.shape});
  SafetensorsWriter writer(path, std::move(specs), metadata);
  for (const auto& t : tensors) writer.write_tensor(t.name, t.bytes);
  writer.finish();
}

}  // namespace flux::engine
