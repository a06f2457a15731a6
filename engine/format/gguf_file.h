// Reader for GGUF v2/v3 model files: validated metadata and tensor views into a shared memory map. Every malformed
// field raises an Error naming the file, key or tensor; nothing is allocated from an unchecked count.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/core/mapped_file.h"
#include "engine/core/tensor_view.h"

namespace flux::engine {

class ByteReader;

// GGUF metadata value types (gguf_type), numbered as in the file.
enum class GgufType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
const char* gguf_type_name(GgufType type);

struct GgufValue {
  GgufType type = GgufType::U8;
  GgufType elem_type = GgufType::U8;  // arrays only
  // Unsigned integers as uint64_t, signed as int64_t, floats as double; arrays as their items.
  std::variant<uint64_t, int64_t, double, bool, std::string, std::vector<GgufValue>> data;
};

class GgufFile {
 public:
  // Maps and validates the whole file. Throws Error on any malformation.
  explicit GgufFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // file offset of the tensor data section
  // Keeps the mapping (and thus every TensorView) alive beyond this object.
  std::shared_ptr<const MappedFile> mapping() const { return file_; }

  // Metadata keys in file order.
  std::vector<std::string> metadata_keys() const;
  bool has(std::string_view key) const;
  const GgufValue* find(std::string_view key) const;   // nullptr if absent
  const GgufValue& value(std::string_view key) const;  // Error if absent

  // Typed getters throw Error when the key is absent or its type does not convert. Integers convert between
  // widths and signedness when the value fits; get_float accepts integers; get_bool accepts integers 0 and 1.
  int64_t get_int(std::string_view key) const;
  uint64_t get_uint(std::string_view key) const;
  double get_float(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  std::string get_string(std::string_view key) const;
  std::vector<std::string> get_string_array(std::string_view key) const;
  std::vector<float> get_float_array(std::string_view key) const;
  std::vector<int64_t> get_int_array(std::string_view key) const;
  std::size_t array_size(std::string_view key) const;  // Error unless the value is an array

  // As above, std::nullopt when absent (a present value of the wrong type still throws).
  std::optional<int64_t> find_int(std::string_view key) const;
  std::optional<uint64_t> find_uint(std::string_view key) const;
  std::optional<double> find_float(std::string_view key) const;
  std::optional<bool> find_bool(std::string_view key) const;
  std::optional<std::string> find_string(std::string_view key) const;
  std::optional<std::vector<std::string>> find_string_array(std::string_view key) const;
  std::optional<std::vector<float>> find_float_array(std::string_view key) const;
  std::optional<std::vector<int64_t>> find_int_array(std::string_view key) const;

  // One-line rendering of a value for `inspect`: arrays show their type, length and up to max_items items.
  std::string describe(std::string_view key, std::size_t max_items = 8) const;

  const std::vector<TensorView>& tensors() const { return tensors_; }
  const TensorView* find_tensor(std::string_view name) const;  // nullptr if absent
  const TensorView& tensor(std::string_view name) const;       // Error naming the file and tensor if absent

 private:
  void parse();
  void parse_tensor_infos(ByteReader& reader, uint64_t n_tensors);
  void check_tensor_layout(const std::vector<uint64_t>& offsets);
  std::string where(std::string_view key) const;

  std::filesystem::path path_;
  std::shared_ptr<const MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::map<std::string, std::size_t, std::less<>> metadata_index_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::size_t, std::less<>> tensor_index_;
};

}  // namespace flux::engine
