#include "engine/tokenizer/tokenizer.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/sentencepiece_tokenizer.h"

namespace flux::engine {
namespace {

void check_id(const std::optional<int32_t>& id, size_t n, const char* what) {
  if (id) require(*id >= 0 && static_cast<size_t>(*id) < n, "tokenizer: {} id {} is out of range (vocabulary of {})",
                  what, *id, n);
}

}  // namespace

Tokenizer::Tokenizer(const VocabData& vocab) : pieces_(vocab.tokens), types_(vocab.token_types) {
  const size_t n = pieces_.size();
  require(n > 0, "tokenizer: vocabulary is empty");
  require(n <= static_cast<size_t>(INT32_MAX), "tokenizer: vocabulary of {} tokens is too large", n);
  require(types_.empty() || types_.size() == n, "tokenizer: {} token types for {} tokens", types_.size(), n);
  if (types_.empty()) types_.assign(n, TokenType::Normal);
  for (size_t i = 0; i < n; ++i) {
    const auto t = static_cast<int32_t>(types_[i]);
    require(t >= 1 && t <= 6, "tokenizer: token {} has invalid type {}", i, t);
  }
  check_id(vocab.bos_id, n, "BOS");
  check_id(vocab.eos_id, n, "EOS");
  check_id(vocab.unk_id, n, "UNK");
  check_id(vocab.pad_id, n, "padding");
  check_id(vocab.eot_id, n, "EOT");
  bos_id_ = vocab.bos_id;
  eos_id_ = vocab.eos_id;
  add_bos_ = vocab.add_bos.value_or(false);
  require(!add_bos_ || bos_id_.has_value(), "tokenizer: add_bos is set but the vocabulary has no BOS id");

  piece_to_id_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    // The first id wins for duplicated pieces, as in llama.cpp.
    piece_to_id_.emplace(pieces_[i], static_cast<int32_t>(i));
    const TokenType t = types_[i];
    if ((t == TokenType::Control || t == TokenType::UserDefined) && !pieces_[i].empty()) {
      specials_.push_back(static_cast<int32_t>(i));
      special_first_byte_[static_cast<uint8_t>(pieces_[i][0])] = true;
    }
  }
  std::stable_sort(specials_.begin(), specials_.end(), [this](int32_t a, int32_t b) {
    return pieces_[static_cast<size_t>(a)].size() > pieces_[static_cast<size_t>(b)].size();
  });
}

std::optional<int32_t> Tokenizer::token_id(std::string_view piece_text) const {
  const auto it = piece_to_id_.find(std::string(piece_text));
  if (it == piece_to_id_.end()) return std::nullopt;
  return it->second;
}

const std::string& Tokenizer::piece(int32_t id) const {
  require(id >= 0 && id < vocab_size(), "tokenizer: token id {} is out of range (vocabulary of {})", id, vocab_size());
  return pieces_[static_cast<size_t>(id)];
}

TokenType Tokenizer::token_type(int32_t id) const {
  require(id >= 0 && id < vocab_size(), "tokenizer: token id {} is out of range (vocabulary of {})", id, vocab_size());
  return types_[static_cast<size_t>(id)];
}

bool Tokenizer::is_control(int32_t id) const { return token_type(id) == TokenType::Control; }

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_control) const {
  std::string out;
  for (const int32_t id : ids) {
    if (skip_control && is_control(id)) continue;
    out += token_text(id);
  }
  return out;
}

std::vector<size_t> Tokenizer::control_starts(std::string_view text) const {
  std::vector<size_t> out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!special_first_byte_[static_cast<uint8_t>(text[i])]) continue;
    for (const int32_t id : specials_) {
      const std::string& p = pieces_[static_cast<size_t>(id)];
      if (types_[static_cast<size_t>(id)] == TokenType::Control && text.substr(i, p.size()) == p) {
        out.push_back(i);
        break;
      }
    }
  }
  return out;
}

std::vector<Tokenizer::Segment> Tokenizer::split_special(std::string_view text, bool parse_special, bool user_defined,
                                                         std::span<const size_t> literal_at) const {
  std::vector<Segment> out;
  size_t plain_start = 0;
  size_t i = 0;
  size_t next_literal = 0;  // index into literal_at of the first offset >= i
  while (i < text.size()) {
    int32_t found = -1;
    if (!special_first_byte_[static_cast<uint8_t>(text[i])]) {
      ++i;
      continue;
    }
    while (next_literal < literal_at.size() && literal_at[next_literal] < i) ++next_literal;
    const bool literal = next_literal < literal_at.size() && literal_at[next_literal] == i;
    for (const int32_t id : specials_) {
      const std::string& p = pieces_[static_cast<size_t>(id)];
      const TokenType t = types_[static_cast<size_t>(id)];
      if (((!parse_special || literal) && t == TokenType::Control) || (!user_defined && t == TokenType::UserDefined))
        continue;
      if (p[0] == text[i] && text.substr(i, p.size()) == p) {
        found = id;
        break;
      }
    }
    if (found < 0) {
      ++i;
      continue;
    }
    if (i > plain_start) out.push_back({text.substr(plain_start, i - plain_start), -1});
    const size_t len = pieces_[static_cast<size_t>(found)].size();
    out.push_back({text.substr(i, len), found});
    i += len;
    plain_start = i;
  }
  if (plain_start < text.size()) out.push_back({text.substr(plain_start), -1});
  return out;
}

std::unique_ptr<Tokenizer> make_tokenizer(const VocabData& vocab) {
  if (vocab.model == "gpt2") return std::make_unique<BpeTokenizer>(vocab);
  if (vocab.model == "llama") return std::make_unique<SentencePieceTokenizer>(vocab);
  fail("tokenizer: unsupported tokenizer model '{}' (expected 'gpt2' or 'llama')", vocab.model);
}

}  // namespace flux::engine
