#include "engine/format/safetensors_file.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/format/ggml_quant.h"
#include "engine/format/json_input.h"

namespace flux::engine {
namespace {

using nlohmann::json;

constexpr std::pair<const char*, StorageType> kDtypes[] = {
    {"F32", StorageType::F32},   {"F16", StorageType::F16},         {"BF16", StorageType::BF16},
    {"F64", StorageType::F64},   {"I8", StorageType::I8},           {"U8", StorageType::U8},
    {"I16", StorageType::I16},   {"I32", StorageType::I32},         {"I64", StorageType::I64},
    {"BOOL", StorageType::Bool}, {"F8_E4M3", StorageType::F8_E4M3}, {"F8_E5M2", StorageType::F8_E5M2},
};

uint64_t json_uint(const json& j, const std::string& where) {
  require(j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0),
          "{}: {} is not a non-negative integer", where, j.dump());
  return j.get<uint64_t>();
}

struct Entry {
  TensorView view;
  uint64_t begin = 0, end = 0;
};

Entry parse_entry(const std::string& file, const std::string& name, const json& e) {
  const std::string where = fmt::format("{}: tensor {}", file, name);
  require(e.is_object(), "{}: entry is not a JSON object", where);
  for (const char* field : {"dtype", "shape", "data_offsets"})
    require(e.contains(field), "{}: missing \"{}\"", where, field);
  const json& dtype = e["dtype"];
  require(dtype.is_string(), "{}: dtype is not a string", where);
  const auto type = storage_type_from_safetensors(dtype.get<std::string>());
  require(type.has_value(), "{}: unsupported dtype '{}'", where, dtype.get<std::string>());
  Entry out;
  out.view.name = name;
  out.view.type = *type;
  const json& shape = e["shape"];
  require(shape.is_array(), "{}: shape is not an array", where);
  int64_t numel = 1;
  for (const json& d : shape) {
    const uint64_t dim = json_uint(d, where + ": shape entry");
    require(dim <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
                !__builtin_mul_overflow(numel, static_cast<int64_t>(dim), &numel),
            "{}: element count of shape {} overflows", where, shape.dump());
    out.view.shape.push_back(static_cast<int64_t>(dim));
  }
  const json& offsets = e["data_offsets"];
  require(offsets.is_array() && offsets.size() == 2, "{}: data_offsets is not a [begin, end] pair", where);
  out.begin = json_uint(offsets[0], where + ": data_offsets begin");
  out.end = json_uint(offsets[1], where + ": data_offsets end");
  require(out.begin <= out.end, "{}: data_offsets [{}, {}] has begin after end", where, out.begin, out.end);
  int64_t bytes = 0;
  require(!__builtin_mul_overflow(numel, block_bytes(*type), &bytes), "{}: byte size of shape {} overflows", where,
          shape.dump());
  require(out.end - out.begin == static_cast<uint64_t>(bytes),
          "{}: data_offsets [{}, {}] span {} bytes, but {} {} needs {}", where, out.begin, out.end, out.end - out.begin,
          dtype.get<std::string>(), shape.dump(), bytes);
  return out;
}

}  // namespace

std::optional<StorageType> storage_type_from_safetensors(std::string_view dtype) {
  for (const auto& [n, t] : kDtypes)
    if (dtype == n) return t;
  return std::nullopt;
}

const char* safetensors_dtype_name(StorageType type) {
  for (const auto& [n, t] : kDtypes)
    if (type == t) return n;
  fail("storage type {} has no safetensors dtype", storage_type_name(type));
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path)
    : path_(path), file_(std::make_shared<const MappedFile>(path)) {
  const std::string file = path.string();
  const auto bytes = file_->bytes();
  require(bytes.size() >= 8, "{}: file too small ({} bytes) for a safetensors header", file, bytes.size());
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  require(n <= kMaxHeaderBytes, "{}: header length {} exceeds the {} byte limit", file, n, kMaxHeaderBytes);
  require(n <= bytes.size() - 8, "{}: header length {} exceeds the file size ({} bytes)", file, n, bytes.size());
  const auto* header_begin = reinterpret_cast<const char*>(bytes.data() + 8);
  require(n > 0 && header_begin[0] == '{', "{}: header does not start with '{{'", file);
  const std::optional<json> parsed = parse_json_limited(std::string_view(header_begin, n), file);
  require(parsed.has_value(), "{}: header is not valid JSON", file);
  const json& header = *parsed;
  require(header.is_object(), "{}: header is not a JSON object", file);

  std::vector<Entry> entries;
  for (const auto& [name, e] : header.items()) {
    if (name == "__metadata__") {
      require(e.is_object(), "{}: __metadata__ is not an object", file);
      for (const auto& [k, v] : e.items()) {
        require(v.is_string(), "{}: __metadata__ value for '{}' is not a string", file, k);
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(file, name, e));
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  const uint64_t data_size = bytes.size() - 8 - n;
  const std::byte* data = bytes.data() + 8 + n;
  uint64_t expected = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    Entry& e = entries[i];
    if (e.begin < expected)
      fail("{}: tensor {}: data_offsets [{}, {}] overlap tensor {}", file, e.view.name, e.begin, e.end,
           entries[i - 1].view.name);
    require(e.begin == expected, "{}: tensor {}: data_offsets [{}, {}] leave a gap of {} bytes before it", file,
            e.view.name, e.begin, e.end, e.begin - expected);
    require(e.end <= data_size, "{}: tensor {}: data_offsets [{}, {}] extend past end of file (data area {} bytes)",
            file, e.view.name, e.begin, e.end, data_size);
    e.view.bytes = std::span<const std::byte>(data + e.begin, static_cast<std::size_t>(e.end - e.begin));
    expected = e.end;
  }
  require(expected == data_size, "{}: {} bytes after the last tensor are not covered by any tensor", file,
          data_size - expected);
  tensors_.reserve(entries.size());
  for (Entry& e : entries) {
    index_.emplace(e.view.name, tensors_.size());
    tensors_.push_back(std::move(e.view));
  }
}

const TensorView* SafetensorsFile::find_tensor(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

// A shard path from the index must name a file inside the model directory, even through symlinks.
std::filesystem::path checked_shard_path(const std::filesystem::path& dir, const std::string& index_name,
                                         const std::string& tensor, const std::string& file) {
  namespace fs = std::filesystem;
  const fs::path rel(file);
  require(!file.empty() && !rel.is_absolute() && !rel.has_root_name() && !rel.has_root_directory(),
          "{}: tensor {}: shard path '{}' must be relative to the model directory", index_name, tensor, file);
  for (const auto& part : rel)
    require(part != "..", "{}: tensor {}: shard path '{}' escapes the model directory", index_name, tensor, file);
  const fs::path full = dir / rel;
  // error_code overloads: a name the OS refuses (too long, a loop of links) is a bad index, not a filesystem_error.
  std::error_code ec;
  require(fs::is_regular_file(full, ec), "{}: tensor {}: shard file '{}' does not exist{}", index_name, tensor,
          full.string(), ec ? " (" + ec.message() + ")" : "");
  const fs::path canonical_dir = fs::canonical(dir, ec);
  require(!ec, "{}: cannot resolve the model directory: {}", index_name, ec.message());
  const fs::path canonical_file = fs::canonical(full, ec);
  require(!ec, "{}: tensor {}: cannot resolve shard path '{}': {}", index_name, tensor, file, ec.message());
  const auto mismatch =
      std::mismatch(canonical_dir.begin(), canonical_dir.end(), canonical_file.begin(), canonical_file.end());
  require(mismatch.first == canonical_dir.end(),
          "{}: tensor {}: shard path '{}' resolves outside the model directory ({})", index_name, tensor, file,
          canonical_file.string());
  return full;
}

}  // namespace

SafetensorsModel SafetensorsModel::open(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  SafetensorsModel model;
  model.path_ = path;
  if (!fs::is_directory(path)) {
    model.add_shard(SafetensorsFile(path));
    model.metadata_ = model.shards_.front().metadata();
    return model;
  }
  const fs::path index_path = path / "model.safetensors.index.json";
  if (!fs::exists(index_path)) {
    const fs::path single = path / "model.safetensors";
    require(fs::exists(single), "{}: neither model.safetensors nor model.safetensors.index.json found", path.string());
    model.add_shard(SafetensorsFile(single));
    model.metadata_ = model.shards_.front().metadata();
    return model;
  }
  const std::string index_name = index_path.string();
  const MappedFile index_file(index_path);
  const auto* text = reinterpret_cast<const char*>(index_file.bytes().data());
  const std::optional<json> parsed = parse_json_limited(std::string_view(text, index_file.size()), index_name);
  require(parsed.has_value() && parsed->is_object(), "{}: not a JSON object", index_name);
  const json& index = *parsed;
  require(index.contains("weight_map") && index["weight_map"].is_object(), "{}: missing \"weight_map\" object",
          index_name);
  if (index.contains("metadata") && index["metadata"].is_object())
    for (const auto& [k, v] : index["metadata"].items())
      model.metadata_[k] = v.is_string() ? v.get<std::string>() : v.dump();

  std::map<std::string, std::vector<std::string>> tensors_by_file;  // sorted: shards load in a stable order
  for (const auto& [tensor, file] : index["weight_map"].items()) {
    require(file.is_string(), "{}: tensor {}: shard file name is not a string", index_name, tensor);
    tensors_by_file[file.get<std::string>()].push_back(tensor);
  }
  for (const auto& [file, names] : tensors_by_file) {
    const fs::path shard_path = checked_shard_path(path, index_name, names.front(), file);
    SafetensorsFile shard(shard_path);
    for (const auto& name : names)
      require(shard.find_tensor(name) != nullptr, "{}: tensor {} is listed in {} but missing from that shard",
              index_name, name, shard_path.string());
    model.add_shard(std::move(shard));
  }
  return model;
}

void SafetensorsModel::add_shard(SafetensorsFile shard) {
  for (const TensorView& t : shard.tensors()) {
    auto it = index_.find(t.name);
    require(it == index_.end(), "{}: tensor {} appears in both {} and {}", path_.string(), t.name,
            it == index_.end() ? "" : shards_[tensor_shard_[it->second]].path().string(), shard.path().string());
    index_.emplace(t.name, tensors_.size());
    tensor_shard_.push_back(shards_.size());
    tensors_.push_back(t);
  }
  shards_.push_back(std::move(shard));
}

const TensorView* SafetensorsModel::find_tensor(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorView& SafetensorsModel::tensor(std::string_view name) const {
  const TensorView* t = find_tensor(name);
  require(t != nullptr, "{}: no tensor named '{}'", path_.string(), name);
  return *t;
}

}  // namespace flux::engine
