// Test helper: builds GGUF files in memory (any metadata type, tensors of any ggml type, custom alignment, version,
// and deliberately broken fields) and writes them to a per-process temp dir. Header-only; used across test suites.
//
//   auto path = flux::test::GgufBuilder()
//                   .add_string("general.architecture", "llama")
//                   .add_u32("llama.block_count", 2)
//                   .add_f32_tensor("output_norm.weight", {4}, {1, 2, 3, 4})   // shape in PyTorch order
//                   .write("tiny.gguf");
//   flux::engine::GgufFile file(path);
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

namespace flux::test {

// ggml_type ids as stored in GGUF tensor infos.
namespace ggml {
constexpr uint32_t F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q4_K = 12, Q5_K = 13, Q6_K = 14,
                   I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, BF16 = 30;
}

// GGUF metadata value type ids.
namespace gguf_type {
constexpr uint32_t U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9,
                   U64 = 10, I64 = 11, F64 = 12;
}

// Little-endian byte sink for hand-encoding values (e.g. nested arrays passed to GgufBuilder::add_raw).
struct GgufEncoder {
  std::vector<uint8_t> buf;
  template <typename T>
  GgufEncoder& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    buf.insert(buf.end(), p, p + sizeof(T));
    return *this;
  }
  GgufEncoder& str(const std::string& s) {
    put<uint64_t>(s.size());
    buf.insert(buf.end(), s.begin(), s.end());
    return *this;
  }
  GgufEncoder& bytes(const std::vector<uint8_t>& b) {
    buf.insert(buf.end(), b.begin(), b.end());
    return *this;
  }
};

// Directory for test files of this process: created on first use, removed when the process exits.
inline std::filesystem::path test_temp_dir() {
  struct TempDir {
    std::filesystem::path path = std::filesystem::temp_directory_path() / ("flux-tests-" + std::to_string(::getpid()));
    ~TempDir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  };
  static const TempDir dir;
  std::filesystem::create_directories(dir.path);
  return dir.path;
}

inline std::filesystem::path write_test_file(const std::string& name, const std::vector<uint8_t>& bytes) {
  const auto path = test_temp_dir() / name;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  return path;
}

class GgufBuilder {
 public:
  // --- header knobs (for malformed-file tests) ---
  GgufBuilder& set_magic(uint32_t magic) {
    magic_ = magic;
    return *this;
  }
  GgufBuilder& set_version(uint32_t version) {
    version_ = version;
    return *this;
  }
  GgufBuilder& override_tensor_count(uint64_t n) {
    tensor_count_ = n;
    return *this;
  }
  GgufBuilder& override_kv_count(uint64_t n) {
    kv_count_ = n;
    return *this;
  }
  // Writes the header only, no tensor data section (for offsets far past the end of the file).
  GgufBuilder& omit_tensor_data() {
    omit_data_ = true;
    return *this;
  }
  // Pads the data section to `alignment`; also writes general.alignment (u32) unless write_key is false.
  GgufBuilder& set_alignment(uint32_t alignment, bool write_key = true) {
    alignment_ = alignment;
    if (write_key) add_u32("general.alignment", alignment);
    return *this;
  }

  // --- metadata ---
  GgufBuilder& add_raw(const std::string& key, uint32_t type, std::vector<uint8_t> encoded_value) {
    kvs_.push_back({key, type, std::move(encoded_value)});
    return *this;
  }
  template <typename T>
  GgufBuilder& add_scalar(const std::string& key, uint32_t type, T v) {
    return add_raw(key, type, GgufEncoder{}.put<T>(v).buf);
  }
  GgufBuilder& add_u8(const std::string& k, uint8_t v) { return add_scalar(k, gguf_type::U8, v); }
  GgufBuilder& add_i8(const std::string& k, int8_t v) { return add_scalar(k, gguf_type::I8, v); }
  GgufBuilder& add_u16(const std::string& k, uint16_t v) { return add_scalar(k, gguf_type::U16, v); }
  GgufBuilder& add_i16(const std::string& k, int16_t v) { return add_scalar(k, gguf_type::I16, v); }
  GgufBuilder& add_u32(const std::string& k, uint32_t v) { return add_scalar(k, gguf_type::U32, v); }
  GgufBuilder& add_i32(const std::string& k, int32_t v) { return add_scalar(k, gguf_type::I32, v); }
  GgufBuilder& add_u64(const std::string& k, uint64_t v) { return add_scalar(k, gguf_type::U64, v); }
  GgufBuilder& add_i64(const std::string& k, int64_t v) { return add_scalar(k, gguf_type::I64, v); }
  GgufBuilder& add_f32(const std::string& k, float v) { return add_scalar(k, gguf_type::F32, v); }
  GgufBuilder& add_f64(const std::string& k, double v) { return add_scalar(k, gguf_type::F64, v); }
  GgufBuilder& add_bool(const std::string& k, bool v) { return add_scalar(k, gguf_type::Bool, uint8_t{v}); }
  GgufBuilder& add_string(const std::string& k, const std::string& v) {
    return add_raw(k, gguf_type::String, GgufEncoder{}.str(v).buf);
  }
  GgufBuilder& add_string_array(const std::string& k, const std::vector<std::string>& v) {
    GgufEncoder e;
    e.put<uint32_t>(gguf_type::String).put<uint64_t>(v.size());
    for (const auto& s : v) e.str(s);
    return add_raw(k, gguf_type::Array, e.buf);
  }
  template <typename T>
  GgufBuilder& add_array(const std::string& k, uint32_t elem_type, const std::vector<T>& v) {
    GgufEncoder e;
    e.put<uint32_t>(elem_type).put<uint64_t>(v.size());
    for (const T& x : v) e.put<T>(x);
    return add_raw(k, gguf_type::Array, e.buf);
  }
  GgufBuilder& add_f32_array(const std::string& k, const std::vector<float>& v) {
    return add_array(k, gguf_type::F32, v);
  }
  GgufBuilder& add_i32_array(const std::string& k, const std::vector<int32_t>& v) {
    return add_array(k, gguf_type::I32, v);
  }

  // --- tensors ---
  // shape in PyTorch order (outermost first); data is the raw tensor bytes (not checked against the shape).
  GgufBuilder& add_tensor(const std::string& name, uint32_t ggml_type, const std::vector<int64_t>& shape,
                          std::vector<uint8_t> data) {
    std::vector<uint64_t> ne(shape.rbegin(), shape.rend());
    return add_tensor_ne(name, ggml_type, std::move(ne), std::move(data));
  }
  GgufBuilder& add_f32_tensor(const std::string& name, const std::vector<int64_t>& shape,
                              const std::vector<float>& values) {
    std::vector<uint8_t> data(values.size() * 4);
    std::memcpy(data.data(), values.data(), data.size());
    return add_tensor(name, ggml::F32, shape, std::move(data));
  }
  // ne in GGUF order (innermost first, may be empty or absurd); offset overrides the automatic aligned placement.
  GgufBuilder& add_tensor_ne(const std::string& name, uint32_t ggml_type, std::vector<uint64_t> ne,
                             std::vector<uint8_t> data, std::optional<uint64_t> offset = std::nullopt) {
    tensors_.push_back({name, ggml_type, std::move(ne), std::move(data), offset});
    return *this;
  }

  std::vector<uint8_t> bytes() const {
    GgufEncoder e;
    e.put<uint32_t>(magic_).put<uint32_t>(version_);
    e.put<uint64_t>(tensor_count_.value_or(tensors_.size())).put<uint64_t>(kv_count_.value_or(kvs_.size()));
    for (const auto& kv : kvs_) e.str(kv.key).put<uint32_t>(kv.type).bytes(kv.value);
    std::vector<uint64_t> offsets;
    uint64_t cursor = 0, data_size = 0;
    for (const auto& t : tensors_) {
      const uint64_t off = t.offset.value_or(cursor);
      offsets.push_back(off);
      data_size = std::max<uint64_t>(data_size, off + t.data.size());
      cursor = align(std::max<uint64_t>(cursor, off + t.data.size()));
    }
    for (std::size_t i = 0; i < tensors_.size(); ++i) {
      const auto& t = tensors_[i];
      e.str(t.name).put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
      for (uint64_t d : t.ne) e.put<uint64_t>(d);
      e.put<uint32_t>(t.type).put<uint64_t>(offsets[i]);
    }
    std::vector<uint8_t> out = std::move(e.buf);
    if (tensors_.empty() || omit_data_) return out;
    const std::size_t data_start = align(out.size());
    out.resize(data_start + data_size, 0);
    for (std::size_t i = 0; i < tensors_.size(); ++i)
      std::memcpy(out.data() + data_start + offsets[i], tensors_[i].data.data(), tensors_[i].data.size());
    return out;
  }

  std::filesystem::path write(const std::string& file_name) const { return write_test_file(file_name, bytes()); }

 private:
  uint64_t align(uint64_t n) const { return alignment_ == 0 ? n : (n + alignment_ - 1) / alignment_ * alignment_; }

  struct Kv {
    std::string key;
    uint32_t type;
    std::vector<uint8_t> value;
  };
  struct Tensor {
    std::string name;
    uint32_t type;
    std::vector<uint64_t> ne;
    std::vector<uint8_t> data;
    std::optional<uint64_t> offset;
  };
  uint32_t magic_ = 0x46554747;  // "GGUF"
  uint32_t version_ = 3;
  uint32_t alignment_ = 32;
  std::optional<uint64_t> tensor_count_, kv_count_;
  bool omit_data_ = false;
  std::vector<Kv> kvs_;
  std::vector<Tensor> tensors_;
};

}  // namespace flux::test
