// The tokenizer interface the engine uses (encode text to ids, decode ids to text) and the factory that builds the
// right implementation from a model file's vocabulary: byte-level BPE ("gpt2") or SentencePiece ("llama").
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/tokenizer/vocab_data.h"

namespace flux::engine {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids of `text`. When `parse_special`, control tokens written in the text (e.g. "<|im_start|>") become their
  // ids, except at the byte offsets in `literal_at` (sorted): there a control spelling stays text — the user's part of
  // a rendered chat prompt (engine/tokenizer/user_text_marks.h). User-defined tokens are always matched. No BOS is
  // added here: the caller checks add_bos().
  virtual std::vector<int32_t> encode(std::string_view text, bool parse_special = true,
                                      std::span<const size_t> literal_at = {}) const = 0;
  // Text of `ids`; control tokens render as their text unless `skip_control`. May contain invalid UTF-8 when the ids
  // cut a character (stream through Utf8StreamDecoder to repair).
  virtual std::string decode(std::span<const int32_t> ids, bool skip_control = false) const;
  // Raw bytes of one token as it appears in decoded text (may be partial UTF-8).
  virtual std::string token_text(int32_t id) const = 0;

  int32_t vocab_size() const { return static_cast<int32_t>(pieces_.size()); }
  std::optional<int32_t> bos_id() const { return bos_id_; }
  std::optional<int32_t> eos_id() const { return eos_id_; }
  bool add_bos() const { return add_bos_; }
  // The id of a piece as stored in the vocabulary (byte-level BPE pieces in the GPT-2 alphabet).
  std::optional<int32_t> token_id(std::string_view piece) const;
  // The stored piece of an id; throws Error when out of range.
  const std::string& piece(int32_t id) const;
  bool is_control(int32_t id) const;
  // Every byte offset of `text` where a control token's spelling begins (overlapping ones included).
  std::vector<size_t> control_starts(std::string_view text) const;
  TokenType token_type(int32_t id) const;
  virtual std::string kind() const = 0;  // "bpe" or "sentencepiece"
  virtual std::string pre() const = 0;   // pre-tokenizer id; "" for SentencePiece

 protected:
  // Validates the shared parts of `vocab` (sizes, special ids in range) and indexes the pieces.
  explicit Tokenizer(const VocabData& vocab);

  // A span of input text, or a special token matched in it.
  struct Segment {
    std::string_view text;
    int32_t token = -1;  // >= 0: a special token, `text` is its spelling
  };
  // Splits `text` on control (when `parse_special`, and not at an offset in `literal_at`) and, when `user_defined`,
  // user-defined tokens; longest first.
  std::vector<Segment> split_special(std::string_view text, bool parse_special, bool user_defined = true,
                                     std::span<const size_t> literal_at = {}) const;

  std::vector<std::string> pieces_;
  std::vector<TokenType> types_;

 private:
  std::unordered_map<std::string, int32_t> piece_to_id_;
  std::vector<int32_t> specials_;  // control and user-defined ids, longest spelling first
  std::array<bool, 256> special_first_byte_{};  // lets split_special skip most positions at once
  std::optional<int32_t> bos_id_, eos_id_;
  bool add_bos_ = false;
};

// Builds the tokenizer for `vocab`: BPE for model "gpt2", SentencePiece for "llama". Throws Error on other models or
// invalid data (no merges, merge pieces missing from the vocabulary, ids out of range).
std::unique_ptr<Tokenizer> make_tokenizer(const VocabData& vocab);

}  // namespace flux::engine
