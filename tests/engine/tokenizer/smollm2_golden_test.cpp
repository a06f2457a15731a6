// SmolLM2's real vocabulary against ids from HF tokenizers (tests/data/tokenizer/smollm2_golden.json, written by
// tools/golden/make_tokenizer_golden.py). Needs the demo model: a missing file fails the test, it is never skipped.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/format/gguf_file.h"
#include "engine/format/gguf_vocab.h"
#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/hf_tokenizer_json.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/utf8_stream.h"

using namespace flux::engine;

namespace {

const std::filesystem::path kModel = FLUX_SOURCE_DIR "/models/SmolLM2-135M-Instruct.Q4_1.gguf";

// Loaded once: the vocabulary has 49152 tokens and 48900 merges.
const VocabData* smollm2_vocab() {
  static const std::optional<VocabData> vocab = []() -> std::optional<VocabData> {
    if (!std::filesystem::exists(kModel)) return std::nullopt;
    return vocab_from_gguf(GgufFile(kModel));
  }();
  return vocab ? &*vocab : nullptr;
}

#define REQUIRE_MODEL()                                                                                      \
  ASSERT_NE(smollm2_vocab(), nullptr) << "demo model missing: " << kModel.string()                           \
                                      << " — run tools/fetch-demo-model.sh"

}  // namespace

TEST(TokenizerSmolLM2, VocabularyShape) {
  REQUIRE_MODEL();
  const auto t = make_tokenizer(*smollm2_vocab());
  EXPECT_EQ(t->kind(), "bpe");
  EXPECT_EQ(t->pre(), "smollm");
  EXPECT_EQ(t->vocab_size(), 49152);
  EXPECT_EQ(t->bos_id(), 1);
  EXPECT_EQ(t->eos_id(), 2);
  EXPECT_FALSE(t->add_bos());
  EXPECT_EQ(t->token_id("<|im_start|>"), 1);
  EXPECT_TRUE(t->is_control(2));
}

TEST(TokenizerSmolLM2, MatchesHfGoldenIds) {
  REQUIRE_MODEL();
  const auto t = make_tokenizer(*smollm2_vocab());
  std::ifstream in(FLUX_TEST_DATA_DIR "/tokenizer/smollm2_golden.json");
  ASSERT_TRUE(in.good()) << "run tools/golden/make_tokenizer_golden.py";
  const auto golden = nlohmann::json::parse(in);
  ASSERT_GE(golden.at("cases").size(), 30u);
  for (const auto& c : golden.at("cases")) {
    const std::string text = c.at("text").get<std::string>();
    const auto expected = c.at("ids").get<std::vector<int32_t>>();
    const auto ids = t->encode(text);
    EXPECT_EQ(ids, expected) << "'" << text << "'";
    EXPECT_EQ(t->decode(ids), text);
  }
}

TEST(TokenizerSmolLM2, ChatPromptTokenizesWithSpecialTokens) {
  REQUIRE_MODEL();
  const VocabData& v = *smollm2_vocab();
  const auto t = make_tokenizer(v);
  const ChatFormat format = detect_chat_format(v.chat_template, "llama");
  ASSERT_EQ(format, ChatFormat::ChatML);
  const std::string prompt =
      apply_chat_template(format, {{"user", "Hi"}}, true, default_system_prompt(v.chat_template));
  const auto ids = t->encode(prompt);
  EXPECT_EQ(ids.front(), 1);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 3);  // system, user, assistant
  EXPECT_EQ(std::count(ids.begin(), ids.end(), 2), 2);
  EXPECT_EQ(stop_token_ids(format, *t), (std::vector<int32_t>{2}));
}

TEST(TokenizerSmolLM2, StreamingDecodeReassemblesText) {
  REQUIRE_MODEL();
  const auto t = make_tokenizer(*smollm2_vocab());
  const std::string text = "Emoji 🤗👍🏽, CJK 日本語, accents café — done.";
  Utf8StreamDecoder d;
  std::string out;
  for (const int32_t id : t->encode(text)) out += d.push(t->token_text(id));
  out += d.flush();
  EXPECT_EQ(out, text);
}

TEST(TokenizerSmolLM2, EncodesTwoHundredThousandCharactersQuickly) {
  REQUIRE_MODEL();
  const auto t = make_tokenizer(*smollm2_vocab());
  std::string text;
  while (text.size() < 200000) {
    text += "In 2024, the model processed 1,234,567 tokens per second. def f(x):\n    return x ** 2  # café 日本\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = t->encode(text);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(t->decode(ids), text);
#ifdef NDEBUG  // timing is only meaningful in optimized builds (not Debug or sanitizers)
  EXPECT_LT(s, 0.8) << "encoding 200K characters took " << s << " s";
#else
  (void)s;
#endif
}

TEST(TokenizerSmolLM2, HfTokenizerJsonRoundTrip) {
  REQUIRE_MODEL();
  const VocabData& v = *smollm2_vocab();
  const nlohmann::json config = hf_tokenizer_config_json(v);
  const VocabData back = vocab_from_hf_tokenizer_json(hf_tokenizer_json(v), &config);
  EXPECT_EQ(back.tokens, v.tokens);
  EXPECT_EQ(back.merges, v.merges);
  EXPECT_EQ(back.pre, "smollm");
  EXPECT_EQ(back.eos_id, v.eos_id);
  const auto a = make_tokenizer(v);
  const auto b = make_tokenizer(back);
  const std::string s = "<|im_start|>user\nround trip 123 through tokenizer.json<|im_end|>";
  EXPECT_EQ(a->encode(s), b->encode(s));
}
