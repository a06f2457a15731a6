#include "engine/tokenizer/pretokenizer.h"

#include <unicode/regex.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <map>
#include <utility>

#include "engine/core/error.h"

namespace flux::engine {
namespace {

// Regex lists copied from llama.cpp src/llama-vocab.cpp (llm_tokenizer_bpe constructor).
const std::string kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S))";
const std::string kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const std::string kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

const std::map<std::string, std::vector<std::string>, std::less<>>& regex_table() {
  static const std::map<std::string, std::vector<std::string>, std::less<>> table = {
      {"gpt2", {kGpt2}},
      {"smollm", {R"(\p{N})", kGpt2}},
      {"llama-bpe", {kLlama3}},
      {"qwen2", {kQwen2}},
      {"default", {R"([\p{P}\$\+<=>\^~\|]+)", kGpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}},
  };
  return table;
}

// Aliases that llama.cpp maps to the same regex list.
const std::map<std::string, std::string, std::less<>>& aliases() {
  static const std::map<std::string, std::string, std::less<>> table = {
      {"mpt", "gpt2"},          {"olmo", "gpt2"},         {"jais", "gpt2"},       {"starcoder", "smollm"},
      {"refact", "smollm"},     {"command-r", "smollm"},  {"codeshell", "smollm"}, {"exaone", "smollm"},
      {"minerva-7b", "smollm"}, {"llama3", "llama-bpe"},  {"dbrx", "llama-bpe"},  {"smaug-bpe", "llama-bpe"},
      {"stablelm2", "qwen2"},   {"hunyuan", "qwen2"},
  };
  return table;
}

// ICU's \s is [\t\n\f\r\p{Z}], which misses \v and U+0085; HF (Oniguruma) and llama.cpp use Unicode White_Space.
std::string to_icu_syntax(const std::string& re) {
  std::string out;
  for (size_t i = 0; i < re.size(); ++i) {
    if (re[i] == '\\' && i + 1 < re.size()) {
      if (re[i + 1] == 's') {
        out += R"(\p{White_Space})";
        ++i;
        continue;
      }
      if (re[i + 1] == 'S') {
        out += R"(\P{White_Space})";
        ++i;
        continue;
      }
      out += re.substr(i, 2);
      ++i;
      continue;
    }
    out += re[i];
  }
  return out;
}

}  // namespace

struct PreTokenizer::Impl {
  std::string id;
  std::vector<std::unique_ptr<icu::RegexPattern>> patterns;
};

std::string PreTokenizer::canonical_id(std::string_view pre_id) {
  if (regex_table().find(pre_id) != regex_table().end()) return std::string(pre_id);
  const auto it = aliases().find(pre_id);
  if (it == aliases().end()) fail("tokenizer: unsupported pre-tokenizer '{}'", pre_id);
  return it->second;
}

const std::vector<std::string>& PreTokenizer::regexes(std::string_view pre_id) {
  return regex_table().find(canonical_id(pre_id))->second;
}

PreTokenizer::PreTokenizer(std::string_view pre_id) : impl_(std::make_unique<Impl>()) {
  impl_->id = canonical_id(pre_id);
  for (const std::string& re : regexes(impl_->id)) {
    UErrorCode status = U_ZERO_ERROR;
    UParseError parse_error{};
    std::unique_ptr<icu::RegexPattern> pattern(
        icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(to_icu_syntax(re)), 0, parse_error, status));
    require(U_SUCCESS(status) && pattern, "tokenizer: cannot compile pre-tokenizer regex '{}': {}", re,
            u_errorName(status));
    impl_->patterns.push_back(std::move(pattern));
  }
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

const std::string& PreTokenizer::id() const { return impl_->id; }

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  if (text.empty()) return {};
  // UTF-16 copy of the text plus, for each UTF-16 index, the byte offset it came from.
  icu::UnicodeString u16;
  std::vector<int32_t> byte_at;
  byte_at.reserve(text.size() + 1);
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const auto n = static_cast<int32_t>(text.size());
  int32_t i = 0;
  while (i < n) {
    const int32_t start = i;
    UChar32 c = 0;
    U8_NEXT(s, i, n, c);
    if (c < 0) c = 0xFFFD;
    u16.append(c);
    while (static_cast<int32_t>(byte_at.size()) < u16.length()) byte_at.push_back(start);
  }
  byte_at.push_back(n);

  std::vector<std::pair<int32_t, int32_t>> pieces{{0, u16.length()}};
  std::vector<std::pair<int32_t, int32_t>> next;
  for (const auto& pattern : impl_->patterns) {
    UErrorCode status = U_ZERO_ERROR;
    // A matcher per call keeps split() thread-safe; RegexPattern itself is immutable and shared.
    std::unique_ptr<icu::RegexMatcher> m(pattern->matcher(u16, status));
    require(U_SUCCESS(status), "tokenizer: ICU matcher failed: {}", u_errorName(status));
    next.clear();
    for (const auto& [begin, end] : pieces) {
      // Opaque region bounds: lookahead must not see past the piece, as if each piece were matched on its own.
      m->region(begin, end, status);
      int32_t pos = begin;
      while (m->find(status) && U_SUCCESS(status)) {
        const int32_t ms = m->start(status);
        const int32_t me = m->end(status);
        if (me == ms) continue;
        if (ms > pos) next.emplace_back(pos, ms);
        next.emplace_back(ms, me);
        pos = me;
      }
      require(U_SUCCESS(status), "tokenizer: ICU regex search failed: {}", u_errorName(status));
      if (pos < end) next.emplace_back(pos, end);
    }
    pieces.swap(next);
  }

  std::vector<std::string_view> out;
  out.reserve(pieces.size());
  for (const auto& [begin, end] : pieces) {
    const auto b = static_cast<size_t>(byte_at[static_cast<size_t>(begin)]);
    const auto e = static_cast<size_t>(byte_at[static_cast<size_t>(end)]);
    if (e > b) out.push_back(text.substr(b, e - b));
  }
  return out;
}

}  // namespace flux::engine
