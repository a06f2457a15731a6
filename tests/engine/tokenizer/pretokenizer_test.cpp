#include "engine/tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "engine/core/error.h"

using namespace flux::engine;

namespace {

std::vector<std::string> split(const PreTokenizer& p, std::string_view text) {
  std::vector<std::string> out;
  for (const auto piece : p.split(text)) out.emplace_back(piece);
  return out;
}

nlohmann::json load_splits() {
  std::ifstream in(FLUX_TEST_DATA_DIR "/tokenizer/pretokenizer_splits.json");
  EXPECT_TRUE(in.good()) << "run tools/golden/make_tokenizer_golden.py";
  return nlohmann::json::parse(in);
}

}  // namespace

// Expected splits come from HF tokenizers (tools/golden/make_tokenizer_golden.py).
TEST(PreTokenizer, MatchesHfSplitsForEveryPreId) {
  const nlohmann::json data = load_splits();
  const auto strings = data.at("strings").get<std::vector<std::string>>();
  for (const auto& [pre, expected] : data.at("splits").items()) {
    const PreTokenizer p(pre);
    for (size_t i = 0; i < strings.size(); ++i) {
      EXPECT_EQ(split(p, strings[i]), expected[i].get<std::vector<std::string>>()) << pre << " on '" << strings[i] << "'";
    }
  }
}

TEST(PreTokenizer, SmollmSplitsDigitsIndividually) {
  const PreTokenizer p("smollm");
  EXPECT_EQ(split(p, "x 12345"), (std::vector<std::string>{"x", " ", "1", "2", "3", "4", "5"}));
  const PreTokenizer gpt2("gpt2");
  EXPECT_EQ(split(gpt2, "x 12345"), (std::vector<std::string>{"x", " 12345"}));
}

TEST(PreTokenizer, Llama3GroupsDigitsByThreeAndIgnoresCaseInContractions) {
  const PreTokenizer p("llama-bpe");
  EXPECT_EQ(split(p, "1234567"), (std::vector<std::string>{"123", "456", "7"}));
  EXPECT_EQ(split(p, "DON'T"), (std::vector<std::string>{"DON", "'T"}));
  const PreTokenizer q("qwen2");
  EXPECT_EQ(split(q, "2024"), (std::vector<std::string>{"2", "0", "2", "4"}));
}

TEST(PreTokenizer, PiecesCoverTheInputIncludingInvalidUtf8) {
  const PreTokenizer p("llama-bpe");
  const std::string text = "ab\xFF\xFE cd \xE2\x82 12\xC3";
  std::string joined;
  for (const auto piece : p.split(text)) joined += piece;
  EXPECT_EQ(joined, text);
  EXPECT_TRUE(p.split("").empty());
}

TEST(PreTokenizer, AliasesAndUnknownIds) {
  EXPECT_EQ(PreTokenizer::canonical_id("llama3"), "llama-bpe");
  EXPECT_EQ(PreTokenizer::canonical_id("starcoder"), "smollm");
  EXPECT_EQ(PreTokenizer("default").id(), "default");
  try {
    PreTokenizer p("no-such-pre");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-pre"), std::string::npos) << e.what();
  }
}

TEST(PreTokenizer, SplitsLargeTextQuickly) {
  std::string text;
  while (text.size() < 200000) text += "The year 2024 saw café prices rise by 12.5%!\n  def f(x): return x**2  # 日本 ";
  const PreTokenizer p("smollm");
  const auto t0 = std::chrono::steady_clock::now();
  const auto pieces = p.split(text);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GT(pieces.size(), 40000u);
#ifdef NDEBUG  // timing is only meaningful in optimized builds (not Debug or sanitizers)
  EXPECT_LT(s, 0.5);
#else
  (void)s;
#endif
}
