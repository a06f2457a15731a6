#include "engine/model/model_files.h"

#include <cctype>
#include <string_view>

#include <spdlog/spdlog.h>

#include "engine/core/error.h"
#include "engine/core/input_file.h"
#include "engine/format/gguf_file.h"
#include "engine/format/gguf_model_config.h"
#include "engine/format/gguf_names.h"
#include "engine/format/gguf_vocab.h"
#include "engine/format/hf_config.h"
#include "engine/format/json_input.h"
#include "engine/format/safetensors_file.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/hf_tokenizer_json.h"
#include "engine/tokenizer/sentencepiece_tokenizer.h"

namespace flux::engine {
namespace fs = std::filesystem;

namespace {

// "<prefix>-00001-of-00003.gguf" -> "<prefix>"; std::nullopt for any other name. (No std::regex: GCC 12 warns
// maybe-uninitialized inside it under -O2 + sanitizers.)
std::optional<std::string> gguf_shard_prefix(const std::string& file) {
  constexpr std::string_view kTail = "-00000-of-00000.gguf";
  if (file.size() <= kTail.size()) return std::nullopt;
  const std::string_view tail = std::string_view(file).substr(file.size() - kTail.size());
  for (std::size_t i = 0; i < kTail.size(); ++i) {
    const bool digit_slot = kTail[i] == '0';
    const bool ok = digit_slot ? std::isdigit(static_cast<unsigned char>(tail[i])) != 0 : tail[i] == kTail[i];
    if (!ok) return std::nullopt;
  }
  return file.substr(0, file.size() - kTail.size());
}

// llama.cpp's gguf-split writes <prefix>-00001-of-00003.gguf ...: the first shard holds the metadata and its share of
// the tensors, every shard says split.no (0-based) and split.count. Returns all shards in order, opened and checked,
// given the first; names the first when another is given.
std::vector<std::shared_ptr<GgufFile>> open_gguf_shards(const fs::path& path, std::shared_ptr<GgufFile> first) {
  const uint64_t count = first->find_uint("split.count").value_or(1);
  if (count <= 1) return {first};
  const uint64_t number = first->find_uint("split.no").value_or(0);
  const std::string file = path.filename().string();
  const std::optional<std::string> prefix = gguf_shard_prefix(file);
  require(prefix.has_value(),
          "{}: shard {} of {} of a split GGUF, but its name does not follow gguf-split's <name>-00001-of-{:05}.gguf, "
          "so the other shards cannot be found (merge them with llama-gguf-split --merge)",
          path.string(), number + 1, count, count);
  auto shard_path = [&](uint64_t i) {
    return path.parent_path() / fmt::format("{}-{:05}-of-{:05}.gguf", *prefix, i + 1, count);
  };
  require(number == 0, "{}: shard {} of {} of a split GGUF: open the first shard, {}", path.string(), number + 1,
          count, shard_path(0).string());
  std::vector<std::shared_ptr<GgufFile>> shards{first};
  for (uint64_t i = 1; i < count; ++i) {
    const fs::path p = shard_path(i);
    require(fs::exists(p), "{}: shard {} of {} of this split GGUF is missing: {}", path.string(), i + 1, count,
            p.string());
    auto shard = std::make_shared<GgufFile>(p);
    require(shard->find_uint("split.no") == i && shard->find_uint("split.count") == count,
            "{}: says it is shard {} of {}, expected shard {} of {}", p.string(),
            shard->find_uint("split.no").value_or(0) + 1, shard->find_uint("split.count").value_or(1), i + 1, count);
    shards.push_back(std::move(shard));
  }
  if (const std::optional<uint64_t> total = first->find_uint("split.tensors.count")) {
    std::size_t n = 0;
    for (const auto& shard : shards) n += shard->tensors().size();
    require(n == *total, "{}: the {} shards hold {} tensors, split.tensors.count says {}", path.string(), count, n,
            *total);
  }
  return shards;
}

void open_gguf(const fs::path& path, ModelConfig& config, std::string& name,
               std::vector<TensorView>& tensors, bool& permuted, VocabData& vocab, std::string& tokenizer_error,
               std::shared_ptr<const void>& keep, std::vector<std::shared_ptr<const MappedFile>>& mapped) {
  auto gguf = std::make_shared<GgufFile>(path);
  const std::vector<std::shared_ptr<GgufFile>> shards = open_gguf_shards(path, gguf);
  config = model_config_from_gguf(*gguf);
  name = gguf->find_string("general.name").value_or(path.stem().string());
  permuted = gguf_rope_permuted(*gguf);
  try {
    vocab = vocab_from_gguf(*gguf);
  } catch (const Error& e) {
    tokenizer_error = e.what();
  }
  for (const auto& shard : shards) {
    mapped.push_back(shard->mapping());
    for (const TensorView& t : shard->tensors()) {
      // Tensors the decoder does not use (e.g. rope_freqs) keep their GGUF names.
      TensorView renamed = t;
      if (auto hf = hf_name_from_gguf(t.name)) renamed.name = *hf;
      tensors.push_back(std::move(renamed));
    }
  }
  keep = std::make_shared<const std::vector<std::shared_ptr<GgufFile>>>(shards);
}

// The tokenizer files of an HF checkpoint directory: tokenizer.json (byte-level BPE) or tokenizer.model (SPM).
void open_hf_tokenizer(const fs::path& dir, VocabData& vocab, std::optional<fs::path>& spm_model,
                       std::string& tokenizer_error) {
  std::string json_error;  // a tokenizer.json this engine cannot read (SPM-style: Metaspace, byte fallback, ...)
  if (fs::exists(dir / "tokenizer.json")) {
    try {
      vocab = vocab_from_hf_tokenizer_json(dir / "tokenizer.json");
      return;
    } catch (const Error& e) {
      if (!fs::exists(dir / "tokenizer.model")) throw;
      json_error = e.what();
    }
  }
  if (fs::exists(dir / "tokenizer.model")) {
    if (!json_error.empty())
      spdlog::info("{}: using tokenizer.model, tokenizer.json is not byte-level BPE ({})", dir.string(), json_error);
    spm_model = dir / "tokenizer.model";
    vocab = vocab_from_sentencepiece_model(*spm_model);
    if (fs::exists(dir / "tokenizer_config.json")) {
      const std::optional<nlohmann::json> j =
          parse_json_limited(read_input_file(dir / "tokenizer_config.json", "tokenizer config"), "tokenizer config");
      if (j) read_hf_chat_templates(*j, vocab);
    }
  } else {
    tokenizer_error = fmt::format("{}: no tokenizer.json or tokenizer.model", dir.string());
  }
}

}  // namespace

ModelFiles ModelFiles::open(const fs::path& path) {
  ModelFiles m;
  m.path_ = path;
  require(fs::exists(path), "{}: no such file or directory", path.string());
  if (!fs::is_directory(path)) InputFile(path, "model file");  // a FIFO or a device: refused by name, never read
  if (path.extension() == ".gguf") {
    m.format_ = "gguf";
    open_gguf(path, m.config_, m.name_, m.tensors_, m.rope_permuted_, m.vocab_, m.tokenizer_error_,
              m.keep_alive_, m.mapped_files_);
    m.build_index();
    m.check_unchanged();  // the header was read from the mapping: a truncation meanwhile read as zeros
    return m;
  }
  const fs::path dir = fs::is_directory(path) ? path : path.parent_path();
  require(fs::is_directory(path) || path.extension() == ".safetensors",
          "{}: not a model (expected a .gguf file, a .safetensors file or a Hugging Face model directory)",
          path.string());
  require(fs::exists(dir / "config.json"), "{}: no config.json in {}", path.string(), dir.string());
  m.format_ = "safetensors";
  m.config_ = model_config_from_hf_file(dir / "config.json");
  m.name_ = dir.filename().string();
  auto st = std::make_shared<SafetensorsModel>(SafetensorsModel::open(path));
  m.tensors_ = st->tensors();
  m.keep_alive_ = st;
  for (const SafetensorsFile& shard : st->shards()) m.mapped_files_.push_back(shard.mapping());
  open_hf_tokenizer(dir, m.vocab_, m.sentencepiece_model_, m.tokenizer_error_);
  m.build_index();
  m.check_unchanged();
  return m;
}

void ModelFiles::check_unchanged() const {
  for (const auto& f : mapped_files_) f->check_unchanged();
}

void ModelFiles::build_index() {
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const bool inserted = index_.emplace(tensors_[i].name, i).second;
    require(inserted, "{}: tensor {} appears twice", path_.string(), tensors_[i].name);
  }
}

const TensorView* ModelFiles::find(const std::string& hf_name) const {
  const auto it = index_.find(hf_name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

std::unique_ptr<Tokenizer> ModelFiles::make_tokenizer() const {
  require(tokenizer_error_.empty(), "{}", tokenizer_error_);
  if (sentencepiece_model_) return std::make_unique<SentencePieceTokenizer>(*sentencepiece_model_);
  return engine::make_tokenizer(vocab_);
}

ModelSummary ModelFiles::summary() const {
  ModelSummary s;
  s.path = path_.string();
  s.format = format_;
  s.name = name_;
  s.config = config_;
  std::map<std::string, int64_t> params_by_type;
  for (const TensorView& t : tensors_) {
    const std::string type = storage_type_name(t.type);
    ++s.tensor_types[type];
    params_by_type[type] += t.numel();
    s.n_params += t.numel();
  }
  s.n_tensors = static_cast<int64_t>(tensors_.size());
  int64_t best = -1;
  for (const auto& [type, n] : params_by_type)
    if (n > best) best = n, s.quantization = type;
  s.tokenizer_kind = sentencepiece_model_ || vocab_.model == "llama" ? "sentencepiece" : "bpe";
  s.tokenizer_pre = vocab_.pre;
  s.vocab_tokens = static_cast<int64_t>(vocab_.tokens.size());
  s.chat_format = std::string(chat_format_name(detect_chat_format(vocab_.chat_template, config_.architecture)));
  return s;
}

}  // namespace flux::engine
