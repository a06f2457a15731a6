// A model on disk, opened but not loaded: a GGUF file, a single .safetensors file with its config.json beside it,
// or an HF directory (config.json + model.safetensors or a sharded index + tokenizer files). Presents tensors under
// HF names, the ModelConfig and the vocabulary, whatever the format.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/core/mapped_file.h"
#include "engine/core/tensor_view.h"
#include "engine/model/model_config.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/vocab_data.h"

namespace flux::engine {

// What `inspect` prints and the GUI shows before a model is loaded.
struct ModelSummary {
  std::string path, format, name;
  ModelConfig config;
  std::map<std::string, int> tensor_types;  // storage type → tensor count
  int64_t n_tensors = 0;
  int64_t n_params = 0;
  std::string quantization;  // the storage type holding most parameters
  std::string tokenizer_kind, tokenizer_pre;
  int64_t vocab_tokens = 0;
  std::string chat_format;   // "chatml", "llama3", "raw"
};

class ModelFiles {
 public:
  // Opens and validates the container and the config; throws Error with a one-line reason.
  static ModelFiles open(const std::filesystem::path& path);

  const ModelConfig& config() const { return config_; }
  const std::filesystem::path& path() const { return path_; }
  const std::string& format() const { return format_; }
  const std::string& name() const { return name_; }
  const std::vector<TensorView>& tensors() const { return tensors_; }  // under HF names
  const TensorView* find(const std::string& hf_name) const;
  // GGUF llama files store Q/K rows permuted for interleaved RoPE; the loader undoes it.
  bool rope_permuted() const { return rope_permuted_; }
  // The mapping every TensorView points into: holding it keeps the views valid after this object is gone.
  std::shared_ptr<const void> keep_alive() const { return keep_alive_; }
  // The mapped files behind the tensors (one per GGUF or safetensors shard): what check_unchanged() watches.
  const std::vector<std::shared_ptr<const MappedFile>>& mapped_files() const { return mapped_files_; }
  // Throws Error when a model file was truncated or rewritten since it was opened (MappedFile::check_unchanged).
  void check_unchanged() const;
  const VocabData& vocab() const { return vocab_; }
  // Throws Error when the files carry no usable tokenizer.
  std::unique_ptr<Tokenizer> make_tokenizer() const;
  ModelSummary summary() const;

 private:
  void build_index();

  std::filesystem::path path_;
  std::string format_, name_;
  ModelConfig config_;
  std::vector<TensorView> tensors_;
  std::unordered_map<std::string, std::size_t> index_;  // HF name -> position in tensors_
  bool rope_permuted_ = false;
  VocabData vocab_;
  std::optional<std::filesystem::path> sentencepiece_model_;  // tokenizer.model next to an HF checkpoint
  std::string tokenizer_error_;  // why make_tokenizer() cannot work; a model without a tokenizer still loads weights
  std::shared_ptr<const void> keep_alive_;                    // the mapped container(s) the views point into
  std::vector<std::shared_ptr<const MappedFile>> mapped_files_;
};

}  // namespace flux::engine
