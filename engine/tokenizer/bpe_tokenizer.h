// Byte-level BPE (GPT-2 style): special tokens first, then the pre-tokenizer's regex splits, then each piece's bytes
// in the GPT-2 alphabet merged by lowest merge rank.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/tokenizer/pretokenizer.h"
#include "engine/tokenizer/tokenizer.h"

namespace flux::engine {

class BpeTokenizer final : public Tokenizer {
 public:
  // Throws Error when the vocabulary has no merges, a merge names a piece that is not in the vocabulary, or the
  // pre-tokenizer id is unknown.
  explicit BpeTokenizer(const VocabData& vocab);

  std::vector<int32_t> encode(std::string_view text, bool parse_special = true,
                              std::span<const size_t> literal_at = {}) const override;
  std::string token_text(int32_t id) const override;
  std::string kind() const override { return "bpe"; }
  std::string pre() const override { return pre_.id(); }

  // Appends the BPE ids of one pre-tokenized word (raw bytes) to `out`.
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

 private:
  struct Merge {
    int32_t rank;
    int32_t merged;
  };
  static uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }

  PreTokenizer pre_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::vector<int32_t> byte_token_;       // byte -> id of its single-character piece, -1 when absent
  std::vector<std::string> decoded_;      // id -> bytes
  std::optional<int32_t> unk_id_;
  bool ignore_merges_ = false;  // Llama-3: a word that is a whole vocabulary piece is taken as is
};

}  // namespace flux::engine
