// Pre-tokenization of byte-level BPE: the regex splits of each `tokenizer.ggml.pre` id, as llama.cpp's
// src/llama-vocab.cpp lists them, run with ICU so that \p{L}, \p{N} and lookahead follow real Unicode tables.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flux::engine {

class PreTokenizer {
 public:
  // Throws Error when `pre_id` is not one of the supported pre-tokenizers.
  explicit PreTokenizer(std::string_view pre_id);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  // Splits `text` into contiguous pieces that cover it exactly. Each regex of the list splits every piece the
  // previous regexes left (matches and the text between them both become pieces), like HF's Split(Isolated) chain.
  // Invalid UTF-8 is matched as U+FFFD but its bytes are kept in the pieces.
  std::vector<std::string_view> split(std::string_view text) const;

  const std::string& id() const;

  // The regex list of a pre-tokenizer id, in llama.cpp's spelling; throws Error for unknown ids.
  static const std::vector<std::string>& regexes(std::string_view pre_id);
  // The canonical id for an alias (e.g. "llama3" -> "llama-bpe"); throws Error for unknown ids.
  static std::string canonical_id(std::string_view pre_id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace flux::engine
