#include "engine/tokenizer/bpe_tokenizer.h"

#include <queue>

#include "engine/core/error.h"
#include "engine/tokenizer/byte_unicode.h"

namespace flux::engine {

BpeTokenizer::BpeTokenizer(const VocabData& vocab) : Tokenizer(vocab), pre_(vocab.pre.empty() ? "default" : vocab.pre) {
  require(!vocab.merges.empty(), "tokenizer: BPE vocabulary has no merges");
  ignore_merges_ = pre_.id() == "llama-bpe";
  unk_id_ = vocab.unk_id;

  merges_.reserve(vocab.merges.size());
  for (size_t rank = 0; rank < vocab.merges.size(); ++rank) {
    const std::string& m = vocab.merges[rank];
    const size_t space = m.find(' ', 1);
    require(space != std::string::npos && space + 1 < m.size(), "tokenizer: merge {} '{}' is not of the form 'a b'",
            rank, m);
    const std::string left = m.substr(0, space);
    const std::string right = m.substr(space + 1);
    const auto a = token_id(left);
    const auto b = token_id(right);
    const auto ab = token_id(left + right);
    require(a && b && ab, "tokenizer: merge {} '{}' names a piece that is not in the vocabulary", rank, m);
    // The lowest rank wins for a repeated pair.
    merges_.emplace(pair_key(*a, *b), Merge{static_cast<int32_t>(rank), *ab});
  }

  byte_token_.assign(256, -1);
  for (int byte = 0; byte < 256; ++byte) {
    const auto id = token_id(bytes_to_unicode(std::string(1, static_cast<char>(byte))));
    if (id) byte_token_[static_cast<size_t>(byte)] = *id;
  }

  decoded_.resize(pieces_.size());
  for (size_t i = 0; i < pieces_.size(); ++i) {
    const TokenType t = types_[i];
    // Added tokens are stored as plain text, not in the byte alphabet.
    decoded_[i] = (t == TokenType::Control || t == TokenType::UserDefined) ? pieces_[i] : unicode_to_bytes(pieces_[i]);
  }
}

std::string BpeTokenizer::token_text(int32_t id) const {
  piece(id);  // range check
  return decoded_[static_cast<size_t>(id)];
}

void BpeTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    if (const auto id = token_id(bytes_to_unicode(word))) {
      out.push_back(*id);
      return;
    }
  }
  const size_t n = word.size();
  std::vector<int32_t> ids;
  ids.reserve(n);
  for (const char c : word) {
    const int32_t id = byte_token_[static_cast<uint8_t>(c)];
    // A vocabulary without the piece of some byte loses that byte (HF drops it too when there is no unk token).
    if (id >= 0) {
      ids.push_back(id);
    } else if (unk_id_) {
      ids.push_back(*unk_id_);
    }
  }
  const size_t m = ids.size();
  if (m < 2) {
    out.insert(out.end(), ids.begin(), ids.end());
    return;
  }
  // Doubly linked symbols and a heap of candidate merges ordered by (rank, position); entries whose symbols changed
  // since they were pushed are stale and skipped, as in HF tokenizers' Word::merge_all.
  std::vector<int32_t> prev(m), next(m);
  for (size_t i = 0; i < m; ++i) {
    prev[i] = static_cast<int32_t>(i) - 1;
    next[i] = i + 1 < m ? static_cast<int32_t>(i + 1) : -1;
  }
  struct Candidate {
    int32_t rank, pos, left, right, merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> heap;
  const auto push = [&](int32_t pos) {
    if (pos < 0) return;
    const int32_t r = next[static_cast<size_t>(pos)];
    if (r < 0) return;
    const int32_t a = ids[static_cast<size_t>(pos)];
    const int32_t b = ids[static_cast<size_t>(r)];
    const auto it = merges_.find(pair_key(a, b));
    if (it != merges_.end()) heap.push({it->second.rank, pos, a, b, it->second.merged});
  };
  for (size_t i = 0; i + 1 < m; ++i) push(static_cast<int32_t>(i));
  std::vector<bool> alive(m, true);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    const auto pos = static_cast<size_t>(c.pos);
    if (!alive[pos] || ids[pos] != c.left) continue;
    const int32_t r = next[pos];
    if (r < 0 || ids[static_cast<size_t>(r)] != c.right) continue;
    ids[pos] = c.merged;
    alive[static_cast<size_t>(r)] = false;
    next[pos] = next[static_cast<size_t>(r)];
    if (next[pos] >= 0) prev[static_cast<size_t>(next[pos])] = c.pos;
    push(prev[pos]);
    push(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = next[static_cast<size_t>(i)]) out.push_back(ids[static_cast<size_t>(i)]);
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool parse_special,
                                            std::span<const size_t> literal_at) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  for (const Segment& seg : split_special(text, parse_special, /*user_defined=*/true, literal_at)) {
    if (seg.token >= 0) {
      out.push_back(seg.token);
      continue;
    }
    for (const std::string_view word : pre_.split(seg.text)) encode_word(word, out);
  }
  return out;
}

}  // namespace flux::engine
