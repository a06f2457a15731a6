#include "engine/format/gguf_file.h"

#include <algorithm>
#include <limits>

#include "engine/core/byte_reader.h"
#include "engine/core/error.h"
#include "engine/format/ggml_quant.h"

namespace flux::engine {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr int kMaxArrayDepth = 8;        // nested arrays deeper than this are hostile, not models
constexpr int kMaxDims = 4;

// Smallest encoding of one value of a type: bounds element counts before anything is reserved.
uint64_t min_value_bytes(GgufType t) {
  switch (t) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::Bool:
      return 1;
    case GgufType::U16:
    case GgufType::I16:
      return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32:
      return 4;
    case GgufType::String:
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64:
      return 8;
    case GgufType::Array:
      return 12;
  }
  return 1;
}

bool valid_type(uint32_t t) {
  return t <= static_cast<uint32_t>(GgufType::F64);
}

std::string read_gguf_string(ByteReader& r, std::string_view field) {
  const auto len = r.read<uint64_t>(field);
  require(len <= r.remaining(), "{}: {} length {} at offset {} exceeds the {} bytes remaining", r.what(), field, len,
          r.offset() - 8, r.remaining());
  return r.read_string_bytes(static_cast<std::size_t>(len), field);
}

GgufValue read_value(ByteReader& r, GgufType type, const std::string& key, int depth) {
  GgufValue v;
  v.type = type;
  switch (type) {
    case GgufType::U8:
      v.data = uint64_t{r.read<uint8_t>(key)};
      break;
    case GgufType::I8:
      v.data = int64_t{r.read<int8_t>(key)};
      break;
    case GgufType::U16:
      v.data = uint64_t{r.read<uint16_t>(key)};
      break;
    case GgufType::I16:
      v.data = int64_t{r.read<int16_t>(key)};
      break;
    case GgufType::U32:
      v.data = uint64_t{r.read<uint32_t>(key)};
      break;
    case GgufType::I32:
      v.data = int64_t{r.read<int32_t>(key)};
      break;
    case GgufType::U64:
      v.data = r.read<uint64_t>(key);
      break;
    case GgufType::I64:
      v.data = r.read<int64_t>(key);
      break;
    case GgufType::F32:
      v.data = double{r.read<float>(key)};
      break;
    case GgufType::F64:
      v.data = r.read<double>(key);
      break;
    case GgufType::Bool: {
      const auto b = r.read<uint8_t>(key);
      require(b <= 1, "{}: metadata key '{}': invalid bool value {}", r.what(), key, b);
      v.data = b == 1;
      break;
    }
    case GgufType::String:
      v.data = read_gguf_string(r, key);
      break;
    case GgufType::Array: {
      require(depth < kMaxArrayDepth, "{}: metadata key '{}': arrays nested deeper than {}", r.what(), key,
              kMaxArrayDepth);
      const auto elem = r.read<uint32_t>(key);
      require(valid_type(elem), "{}: metadata key '{}': unknown array element type {}", r.what(), key, elem);
      v.elem_type = static_cast<GgufType>(elem);
      const auto count = r.read<uint64_t>(key);
      require(count <= r.remaining() / min_value_bytes(v.elem_type),
              "{}: metadata key '{}': array count {} exceeds what the {} remaining bytes can hold", r.what(), key,
              count, r.remaining());
      std::vector<GgufValue> items;
      items.reserve(static_cast<std::size_t>(count));
      for (uint64_t i = 0; i < count; ++i) items.push_back(read_value(r, v.elem_type, key, depth + 1));
      v.data = std::move(items);
      break;
    }
  }
  return v;
}

std::string shape_string(const std::vector<uint64_t>& ne) {
  std::string s = "[";
  for (std::size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + "]";
}

}  // namespace

const char* gguf_type_name(GgufType type) {
  static constexpr const char* kNames[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                           "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(type);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

GgufFile::GgufFile(const std::filesystem::path& path) : path_(path), file_(std::make_shared<const MappedFile>(path)) {
  parse();
}

void GgufFile::parse() {
  const std::string name = path_.string();
  ByteReader r(file_->bytes(), name);
  require(file_->size() >= 4, "{}: not a GGUF file ({} bytes, too small for the magic)", name, file_->size());
  const auto magic = r.read<uint32_t>("magic");
  require(magic == kMagic, "{}: not a GGUF file (bad magic 0x{:08x}, expected \"GGUF\")", name, magic);
  version_ = r.read<uint32_t>("version");
  if (version_ == 1) fail("{}: GGUF version 1 is not supported (only versions 2 and 3)", name);
  if (version_ != 2 && version_ != 3) {
    const bool swapped = (version_ & 0xffffu) == 0 && version_ != 0;
    fail("{}: unsupported GGUF version {} (only versions 2 and 3){}", name, version_,
         swapped ? "; big-endian files are not supported" : "");
  }
  const auto n_tensors = r.read<uint64_t>("tensor count");
  const auto n_kv = r.read<uint64_t>("metadata count");
  // A tensor info takes at least 32 bytes (name length, n_dims, one dim, type, offset); a key/value pair 13.
  require(n_tensors <= r.remaining() / 32, "{}: tensor count {} exceeds what the remaining {} bytes can hold", name,
          n_tensors, r.remaining());
  require(n_kv <= r.remaining() / 13, "{}: metadata count {} exceeds what the remaining {} bytes can hold", name, n_kv,
          r.remaining());

  metadata_.reserve(static_cast<std::size_t>(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = read_gguf_string(r, "metadata key");
    const auto type = r.read<uint32_t>(key);
    require(valid_type(type), "{}: metadata key '{}': unknown value type {}", name, key, type);
    GgufValue value = read_value(r, static_cast<GgufType>(type), key, 0);
    require(!metadata_index_.contains(key), "{}: duplicate metadata key '{}'", name, key);
    metadata_index_.emplace(key, metadata_.size());
    metadata_.emplace_back(std::move(key), std::move(value));
  }

  if (has("general.alignment")) {
    const uint64_t alignment = get_uint("general.alignment");
    require(alignment != 0 && alignment % 8 == 0 && alignment <= (1u << 30),
            "{}: general.alignment = {} is not a non-zero multiple of 8", name, alignment);
    alignment_ = alignment;
  }
  parse_tensor_infos(r, n_tensors);
}

void GgufFile::parse_tensor_infos(ByteReader& r, uint64_t n_tensors) {
  const std::string file = path_.string();
  std::vector<uint64_t> offsets;
  offsets.reserve(static_cast<std::size_t>(n_tensors));
  tensors_.reserve(static_cast<std::size_t>(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorView t;
    t.name = read_gguf_string(r, "tensor name");
    require(!tensor_index_.contains(t.name), "{}: duplicate tensor name '{}'", file, t.name);
    const auto n_dims = r.read<uint32_t>(t.name);
    require(n_dims >= 1 && n_dims <= kMaxDims, "{}: tensor {}: n_dims {} is out of range (1..{})", file, t.name, n_dims,
            kMaxDims);
    std::vector<uint64_t> ne(n_dims);
    for (auto& d : ne) d = r.read<uint64_t>(t.name);
    int64_t numel = 1;
    for (uint32_t k = 0; k < n_dims; ++k) {
      require(ne[k] != 0, "{}: tensor {}: dimension ne[{}] is zero (shape {})", file, t.name, k, shape_string(ne));
      require(ne[k] <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
                  !__builtin_mul_overflow(numel, static_cast<int64_t>(ne[k]), &numel),
              "{}: tensor {}: element count of shape {} overflows int64", file, t.name, shape_string(ne));
    }
    const auto type_id = r.read<uint32_t>(t.name);
    const auto type = storage_type_from_ggml(type_id);
    if (!type.has_value()) {
      const std::string_view name = ggml_type_name(type_id);
      fail("{}: tensor {}: unsupported tensor type {}{}{} (readable: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, "
           "Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS)",
           file, t.name, type_id, name.empty() ? "" : " = ", name);
    }
    t.type = *type;
    const int64_t be = block_elems(t.type);
    require(static_cast<int64_t>(ne[0]) % be == 0,
            "{}: tensor {}: ne[0] = {} is not a multiple of the {} block size {}", file, t.name, ne[0],
            storage_type_name(t.type), be);
    int64_t bytes = 0;
    require(!__builtin_mul_overflow(numel / be, block_bytes(t.type), &bytes),
            "{}: tensor {}: byte size of shape {} overflows int64", file, t.name, shape_string(ne));
    const auto offset = r.read<uint64_t>(t.name);
    require(offset % alignment_ == 0, "{}: tensor {}: offset {} is not a multiple of the alignment {}", file, t.name,
            offset, alignment_);
    t.shape.assign(ne.rbegin(), ne.rend());
    // The byte span is attached once the data section's start is known; until then carry the size in a null span.
    t.bytes = std::span<const std::byte>(static_cast<const std::byte*>(nullptr), static_cast<std::size_t>(bytes));
    tensor_index_.emplace(t.name, tensors_.size());
    tensors_.push_back(std::move(t));
    offsets.push_back(offset);
  }
  const uint64_t end_of_infos = r.offset();
  data_offset_ = (end_of_infos + alignment_ - 1) / alignment_ * alignment_;
  check_tensor_layout(offsets);
}

void GgufFile::check_tensor_layout(const std::vector<uint64_t>& offsets) {
  const std::string file = path_.string();
  const uint64_t size = file_->size();
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    TensorView& t = tensors_[i];
    const uint64_t bytes = t.bytes.size();
    uint64_t begin = 0, end = 0;
    const bool overflow =
        __builtin_add_overflow(data_offset_, offsets[i], &begin) || __builtin_add_overflow(begin, bytes, &end);
    require(!overflow && end <= size, "{}: tensor {}: data [offset {}, {} bytes] extends past end of file ({} bytes)",
            file, t.name, overflow ? offsets[i] : begin, bytes, size);
    t.bytes = file_->bytes().subspan(static_cast<std::size_t>(begin), static_cast<std::size_t>(bytes));
  }
  std::vector<std::size_t> order(tensors_.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return offsets[a] < offsets[b]; });
  for (std::size_t k = 1; k < order.size(); ++k) {
    const std::size_t prev = order[k - 1], cur = order[k];
    require(offsets[prev] + tensors_[prev].bytes.size() <= offsets[cur],
            "{}: tensors {} [offset {}, {} bytes] and {} [offset {}] overlap", file, tensors_[prev].name, offsets[prev],
            tensors_[prev].bytes.size(), tensors_[cur].name, offsets[cur]);
  }
}

std::string GgufFile::where(std::string_view key) const {
  return fmt::format("{}: metadata key '{}'", path_.string(), key);
}

std::vector<std::string> GgufFile::metadata_keys() const {
  std::vector<std::string> keys;
  keys.reserve(metadata_.size());
  for (const auto& [k, v] : metadata_) keys.push_back(k);
  return keys;
}

bool GgufFile::has(std::string_view key) const {
  return metadata_index_.find(key) != metadata_index_.end();
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = metadata_index_.find(key);
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

const GgufValue& GgufFile::value(std::string_view key) const {
  const GgufValue* v = find(key);
  require(v != nullptr, "{}: missing metadata key '{}'", path_.string(), key);
  return *v;
}

namespace {

// Coercions shared by scalar getters and array getters; `where` names the key (and index) for messages.
int64_t as_int(const GgufValue& v, const std::string& where) {
  if (const auto* i = std::get_if<int64_t>(&v.data)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&v.data)) {
    require(*u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), "{}: value {} does not fit in int64",
            where, *u);
    return static_cast<int64_t>(*u);
  }
  fail("{} has type {}, expected an integer", where, gguf_type_name(v.type));
}

uint64_t as_uint(const GgufValue& v, const std::string& where) {
  if (const auto* u = std::get_if<uint64_t>(&v.data)) return *u;
  if (const auto* i = std::get_if<int64_t>(&v.data)) {
    require(*i >= 0, "{}: negative value {} where an unsigned integer is expected", where, *i);
    return static_cast<uint64_t>(*i);
  }
  fail("{} has type {}, expected an unsigned integer", where, gguf_type_name(v.type));
}

double as_float(const GgufValue& v, const std::string& where) {
  if (const auto* d = std::get_if<double>(&v.data)) return *d;
  if (const auto* i = std::get_if<int64_t>(&v.data)) return static_cast<double>(*i);
  if (const auto* u = std::get_if<uint64_t>(&v.data)) return static_cast<double>(*u);
  fail("{} has type {}, expected a number", where, gguf_type_name(v.type));
}

const std::vector<GgufValue>& as_array(const GgufValue& v, const std::string& where) {
  const auto* items = std::get_if<std::vector<GgufValue>>(&v.data);
  require(items != nullptr, "{} has type {}, expected an array", where, gguf_type_name(v.type));
  return *items;
}

template <typename T, typename F>
std::vector<T> convert_array(const GgufValue& v, const std::string& where, F convert) {
  const auto& items = as_array(v, where);
  std::vector<T> out;
  out.reserve(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) out.push_back(convert(items[i], fmt::format("{}[{}]", where, i)));
  return out;
}

}  // namespace

int64_t GgufFile::get_int(std::string_view key) const {
  return as_int(value(key), where(key));
}
uint64_t GgufFile::get_uint(std::string_view key) const {
  return as_uint(value(key), where(key));
}
double GgufFile::get_float(std::string_view key) const {
  return as_float(value(key), where(key));
}

bool GgufFile::get_bool(std::string_view key) const {
  const GgufValue& v = value(key);
  if (const auto* b = std::get_if<bool>(&v.data)) return *b;
  if (std::holds_alternative<int64_t>(v.data) || std::holds_alternative<uint64_t>(v.data)) {
    const int64_t i = as_int(v, where(key));
    require(i == 0 || i == 1, "{}: integer {} is not a bool", where(key), i);
    return i == 1;
  }
  fail("{} has type {}, expected a bool", where(key), gguf_type_name(v.type));
}

std::string GgufFile::get_string(std::string_view key) const {
  const GgufValue& v = value(key);
  const auto* s = std::get_if<std::string>(&v.data);
  require(s != nullptr, "{} has type {}, expected a string", where(key), gguf_type_name(v.type));
  return *s;
}

std::vector<std::string> GgufFile::get_string_array(std::string_view key) const {
  return convert_array<std::string>(value(key), where(key), [](const GgufValue& item, const std::string& w) {
    const auto* s = std::get_if<std::string>(&item.data);
    require(s != nullptr, "{} has type {}, expected a string", w, gguf_type_name(item.type));
    return *s;
  });
}

std::vector<float> GgufFile::get_float_array(std::string_view key) const {
  return convert_array<float>(value(key), where(key), [](const GgufValue& item, const std::string& w) {
    return static_cast<float>(as_float(item, w));
  });
}

std::vector<int64_t> GgufFile::get_int_array(std::string_view key) const {
  return convert_array<int64_t>(value(key), where(key), as_int);
}

std::size_t GgufFile::array_size(std::string_view key) const {
  return as_array(value(key), where(key)).size();
}

#define FLUX_GGUF_FIND(Type, name, getter)                         \
  std::optional<Type> GgufFile::name(std::string_view key) const { \
    if (!has(key)) return std::nullopt;                            \
    return getter(key);                                            \
  }
FLUX_GGUF_FIND(int64_t, find_int, get_int)
FLUX_GGUF_FIND(uint64_t, find_uint, get_uint)
FLUX_GGUF_FIND(double, find_float, get_float)
FLUX_GGUF_FIND(bool, find_bool, get_bool)
FLUX_GGUF_FIND(std::string, find_string, get_string)
FLUX_GGUF_FIND(std::vector<std::string>, find_string_array, get_string_array)
FLUX_GGUF_FIND(std::vector<float>, find_float_array, get_float_array)
FLUX_GGUF_FIND(std::vector<int64_t>, find_int_array, get_int_array)
#undef FLUX_GGUF_FIND

namespace {
std::string render(const GgufValue& v, std::size_t max_items) {
  struct Visitor {
    const GgufValue& v;
    std::size_t max_items;
    std::string operator()(uint64_t u) const { return std::to_string(u); }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return fmt::format("{}", d); }
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(const std::string& s) const {
      constexpr std::size_t kMaxChars = 120;  // chat templates run to kilobytes
      std::string shown = s.size() > kMaxChars ? s.substr(0, kMaxChars) + "..." : s;
      for (char& c : shown)
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
      return "\"" + shown + "\"";
    }
    std::string operator()(const std::vector<GgufValue>& items) const {
      std::string s = fmt::format("[{} x {}] [", gguf_type_name(v.elem_type), items.size());
      for (std::size_t i = 0; i < items.size() && i < max_items; ++i)
        s += (i ? ", " : "") + render(items[i], max_items);
      return s + (items.size() > max_items ? ", ...]" : "]");
    }
  };
  return std::visit(Visitor{v, max_items}, v.data);
}
}  // namespace

std::string GgufFile::describe(std::string_view key, std::size_t max_items) const {
  return render(value(key), max_items);
}

const TensorView* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const TensorView& GgufFile::tensor(std::string_view name) const {
  const TensorView* t = find_tensor(name);
  require(t != nullptr, "{}: no tensor named '{}'", path_.string(), name);
  return *t;
}

}  // namespace flux::engine
