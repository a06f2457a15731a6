// Bounded little-endian reader over a byte span: every read checks what remains, so a malformed file produces an
// Error naming the file and offset instead of a read past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "engine/core/error.h"

namespace flux::engine {

class ByteReader {
 public:
  ByteReader(std::span<const std::byte> bytes, std::string what) : bytes_(bytes), what_(std::move(what)) {}

  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return bytes_.size() - offset_; }
  const std::string& what() const { return what_; }

  template <typename T>
  T read(std::string_view field) {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T), field);
    T value;
    std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }

  std::span<const std::byte> take(std::size_t n, std::string_view field) {
    need(n, field);
    auto out = bytes_.subspan(offset_, n);
    offset_ += n;
    return out;
  }

  std::string read_string_bytes(std::size_t n, std::string_view field) {
    auto s = take(n, field);
    return std::string(reinterpret_cast<const char*>(s.data()), s.size());
  }

  void need(std::size_t n, std::string_view field) const {
    if (n > remaining())
      fail("{}: truncated at offset {} reading {} ({} bytes needed, {} left)", what_, offset_, field, n, remaining());
  }

 private:
  std::span<const std::byte> bytes_;
  std::string what_;
  std::size_t offset_ = 0;
};

}  // namespace flux::engine
