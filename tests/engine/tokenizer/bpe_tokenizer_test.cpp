#include "engine/tokenizer/bpe_tokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "engine/core/error.h"
#include "engine/tokenizer/byte_unicode.h"

using namespace flux::engine;

namespace {

// All 256 byte pieces, a few merges, and two special tokens: enough to exercise ranks, specials and round trips.
VocabData tiny_vocab(const std::string& pre = "gpt2") {
  VocabData v;
  v.model = "gpt2";
  v.pre = pre;
  v.tokens = {"<|endoftext|>", "<|im_start|>", "<tool>"};
  v.token_types = {TokenType::Control, TokenType::Control, TokenType::UserDefined};
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(bytes_to_unicode(std::string(1, static_cast<char>(b))));
    v.token_types.push_back(TokenType::Normal);
  }
  v.merges = {"l l", "h e", "he ll", "hell o", "\xC4\xA0 w", "o r", "\xC4\xA0w or", "\xC4\xA0wor l", "\xC4\xA0worl d",
              "a a"};
  for (const std::string& m : v.merges) {
    const size_t sp = m.find(' ');
    v.tokens.push_back(m.substr(0, sp) + m.substr(sp + 1));
    v.token_types.push_back(TokenType::Normal);
  }
  v.bos_id = 0;
  v.eos_id = 0;
  return v;
}

int32_t id_of(const Tokenizer& t, const std::string& text) { return t.token_id(bytes_to_unicode(text)).value(); }

std::string random_text(std::mt19937& rng, size_t n) {
  static const std::vector<std::string> atoms = {"a", "b", " ", "  ", "\n", "\t", "1", "42", "'s", "é", "日", "本",
                                                 "🤗", "👍🏽", "ß", "Ω", "!", "?", "<|im_start|>", "<tool>", "\xCC\x81"};
  std::string s;
  for (size_t i = 0; i < n; ++i) s += atoms[rng() % atoms.size()];
  return s;
}

}  // namespace

TEST(BpeTokenizer, MergesByLowestRank) {
  const BpeTokenizer t(tiny_vocab());
  const auto ids = t.encode("hello world");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], id_of(t, "hello"));
  EXPECT_EQ(ids[1], id_of(t, " world"));
  EXPECT_EQ(t.decode(ids), "hello world");
  // "aaa": the leftmost pair merges first, as in GPT-2.
  EXPECT_EQ(t.encode("aaa"), (std::vector<int32_t>{id_of(t, "aa"), id_of(t, "a")}));
  EXPECT_EQ(t.kind(), "bpe");
  EXPECT_EQ(t.pre(), "gpt2");
}

TEST(BpeTokenizer, SpecialTokensFirstWhenParsingSpecial) {
  const BpeTokenizer t(tiny_vocab());
  const auto ids = t.encode("<|im_start|>hello<|endoftext|>");
  EXPECT_EQ(ids, (std::vector<int32_t>{1, id_of(t, "hello"), 0}));
  const auto plain = t.encode("<|im_start|>", /*parse_special=*/false);
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(t.decode(plain), "<|im_start|>");
  // User-defined tokens are always matched.
  EXPECT_EQ(t.encode("<tool>", false), (std::vector<int32_t>{2}));
  EXPECT_TRUE(t.is_control(1));
  EXPECT_FALSE(t.is_control(2));
  EXPECT_EQ(t.decode(ids, /*skip_control=*/true), "hello");
  EXPECT_EQ(t.token_text(1), "<|im_start|>");
}

TEST(BpeTokenizer, RoundTripsRandomUnicode) {
  const BpeTokenizer t(tiny_vocab("llama-bpe"));
  std::mt19937 rng(1234);
  for (int i = 0; i < 300; ++i) {
    const std::string s = random_text(rng, 1 + rng() % 40);
    EXPECT_EQ(t.decode(t.encode(s)), s);
  }
  const std::string bytes = "\xFF\xFE raw \x80 bytes \xC3";
  EXPECT_EQ(t.decode(t.encode(bytes)), bytes);
}

TEST(BpeTokenizer, TokenTextIsRawBytes) {
  const BpeTokenizer t(tiny_vocab());
  const int32_t c3 = id_of(t, "\xC3");
  EXPECT_EQ(t.token_text(c3), "\xC3");
  EXPECT_EQ(t.token_text(id_of(t, " world")), " world");
  EXPECT_THROW(t.token_text(t.vocab_size()), Error);
  EXPECT_THROW(t.token_text(-1), Error);
}

TEST(BpeTokenizer, RejectsInvalidVocabularies) {
  auto expect_error = [](VocabData v, const std::string& needle) {
    try {
      make_tokenizer(v);
      ADD_FAILURE() << "expected an error containing '" << needle << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  VocabData v = tiny_vocab();
  v.merges.clear();
  expect_error(v, "tokenizer: BPE vocabulary has no merges");
  v = tiny_vocab();
  v.merges.push_back("zz qq");
  expect_error(v, "not in the vocabulary");
  v = tiny_vocab();
  v.merges.push_back("nospace");
  expect_error(v, "not of the form");
  v = tiny_vocab();
  v.eos_id = 100000;
  expect_error(v, "EOS id 100000 is out of range");
  v = tiny_vocab();
  v.token_types.pop_back();
  expect_error(v, "token types");
  v = tiny_vocab();
  v.pre = "mystery";
  expect_error(v, "unsupported pre-tokenizer 'mystery'");
  v = tiny_vocab();
  v.model = "bert";
  expect_error(v, "unsupported tokenizer model 'bert'");
}

TEST(BpeTokenizer, EncodesLongInputQuickly) {
  const BpeTokenizer t(tiny_vocab("smollm"));
  std::string text;
  while (text.size() < 200000) text += "hello world, hello again 12345 café 日本語 aaaaaaaaaaaaaaaa\n";
  text += std::string(20000, 'a');  // one long word must not be quadratic
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = t.encode(text);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(t.decode(ids), text);
#ifdef NDEBUG  // timing is only meaningful in optimized builds (not Debug or sanitizers)
  EXPECT_LT(s, 0.8);
#else
  (void)s;
#endif
}
