// SentencePiece tokenization through libsentencepiece, loaded either from a tokenizer.model file or from a GGUF-style
// "llama" vocabulary (pieces, scores, types) turned into a ModelProto.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "engine/tokenizer/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace flux::engine {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  // From a tokenizer.model file; throws Error when it cannot be read or parsed.
  explicit SentencePieceTokenizer(const std::filesystem::path& model_file);
  // From a vocabulary of model "llama"; throws Error when libsentencepiece rejects it (e.g. no unknown piece).
  explicit SentencePieceTokenizer(const VocabData& vocab);
  ~SentencePieceTokenizer() override;

  std::vector<int32_t> encode(std::string_view text, bool parse_special = true,
                              std::span<const size_t> literal_at = {}) const override;
  // Drops the dummy-prefix space of the first non-control piece, as SentencePiece's decoder does.
  std::string decode(std::span<const int32_t> ids, bool skip_control = false) const override;
  // "▁" renders as a space, byte pieces "<0xAB>" as their byte, control and unknown pieces as their text.
  std::string token_text(int32_t id) const override;
  std::string kind() const override { return "sentencepiece"; }
  std::string pre() const override { return ""; }

 private:
  SentencePieceTokenizer(const VocabData& vocab, const std::string& serialized_proto);

  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
  bool add_dummy_prefix_ = true;
};

// The vocabulary of a tokenizer.model file in the GGUF form (model "llama"), e.g. for conversion or for tests.
VocabData vocab_from_sentencepiece_model(const std::filesystem::path& model_file);

// Whether a "llama" vocabulary looks like SentencePiece BPE rather than unigram: every normal piece's score is an
// integer and scores never increase with the id (the BPE trainer writes -rank; unigram scores are log-probabilities).
bool sentencepiece_vocab_is_bpe(const VocabData& vocab);

// The serialized sentencepiece ModelProto built from `vocab`. Model type: BPE when sentencepiece_vocab_is_bpe, else
// UNIGRAM. Byte fallback
// when byte pieces exist; add_dummy_prefix from add_space_prefix (default true); no normalization rules; extra
// whitespace kept.
std::string sentencepiece_model_proto(const VocabData& vocab);

}  // namespace flux::engine
