#include "engine/tokenizer/sentencepiece_tokenizer.h"

#include <gtest/gtest.h>
#include <sentencepiece_trainer.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "engine/core/error.h"
#include "engine/model/model_files.h"

using namespace flux::engine;

namespace {

const std::vector<std::string> kProbe = {
    "hello world",
    "The quick brown fox jumps over the lazy dog.",
    "  two leading spaces and  double  inside ",
    "numbers 12345 and 3.14",
    "unseen characters: 🤗 日本語 Ωmega",
    "café naïve",
    "<|ctl|>control in text<|ctl|>",
    "user <note> defined",
    "line\nbreak\ttab",
    "",
};

// Trains small BPE and unigram models once for the whole suite (the trainer takes a second or two).
class SentencePieceTokenizerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("flux_spm_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    const std::vector<std::string> words = {"the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "hello",
                                            "world", "token", "izer", "model", "engine", "café", "naïve", "data",
                                            "sentence", "piece", "unigram", "byte", "fallback", "12", "345", "!", "."};
    const std::vector<std::string> syllables = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "qu", "ph",
                                                "st", "ing", "ed", "é", "ü", "ß"};
    std::mt19937 rng(7);
    std::ofstream corpus(dir_ / "corpus.txt");
    for (int line = 0; line < 4000; ++line) {
      const int n = 3 + static_cast<int>(rng() % 10);
      for (int w = 0; w < n; ++w) {
        corpus << (w ? " " : "");
        if (rng() % 2) {
          corpus << words[rng() % words.size()];
        } else {  // made-up words keep the trainer supplied with new pieces up to the vocabulary size
          for (int k = 1 + static_cast<int>(rng() % 3); k > 0; --k) corpus << syllables[rng() % syllables.size()];
        }
      }
      corpus << "\n";
    }
    corpus.close();
    for (const char* type : {"bpe", "unigram"}) {
      const std::string prefix = (dir_ / type).string();
      const std::string args = "--input=" + (dir_ / "corpus.txt").string() + " --model_prefix=" + prefix +
                               " --model_type=" + type +
                               " --vocab_size=400 --byte_fallback=true --character_coverage=1.0"
                               " --normalization_rule_name=identity --remove_extra_whitespaces=false"
                               " --control_symbols=<|ctl|> --user_defined_symbols=<note> --num_threads=1"
                               " --minloglevel=2";
      const auto status = sentencepiece::SentencePieceTrainer::Train(args);
      if (!status.ok()) setup_error_ += std::string(type) + ": " + status.ToString() + "\n";
    }
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(dir_); }
  void SetUp() override { ASSERT_TRUE(setup_error_.empty()) << "training failed: " << setup_error_; }
  static std::filesystem::path model(const char* type) { return dir_ / (std::string(type) + ".model"); }

  static std::filesystem::path dir_;
  static std::string setup_error_;
};
std::filesystem::path SentencePieceTokenizerTest::dir_;
std::string SentencePieceTokenizerTest::setup_error_;

}  // namespace

TEST_F(SentencePieceTokenizerTest, FileModelRoundTrips) {
  for (const char* type : {"bpe", "unigram"}) {
    const SentencePieceTokenizer t(model(type));
    EXPECT_EQ(t.kind(), "sentencepiece");
    EXPECT_EQ(t.vocab_size(), 400);
    for (const std::string& s : kProbe) {
      const auto ids = t.encode(s);
      EXPECT_EQ(t.decode(ids), s) << type << ": '" << s << "'";
    }
    // Byte fallback: an unseen character becomes its UTF-8 bytes.
    const auto ids = t.encode("🤗");
    std::string joined;
    for (const int32_t id : ids) joined += t.token_text(id);
    EXPECT_EQ(joined, " 🤗") << type;
  }
}

TEST_F(SentencePieceTokenizerTest, VocabDataMatchesFileModel) {
  for (const char* type : {"bpe", "unigram"}) {
    const SentencePieceTokenizer from_file(model(type));
    const VocabData v = vocab_from_sentencepiece_model(model(type));
    EXPECT_EQ(v.model, "llama");
    EXPECT_EQ(v.add_space_prefix, true);
    EXPECT_EQ(v.bos_id, 1);
    EXPECT_EQ(v.eos_id, 2);
    EXPECT_EQ(v.unk_id, 0);
    EXPECT_EQ(v.token_types[0], TokenType::Unknown);
    EXPECT_EQ(v.token_types[1], TokenType::Control);
    EXPECT_EQ(std::count(v.token_types.begin(), v.token_types.end(), TokenType::Byte), 256);
    EXPECT_EQ(std::count(v.token_types.begin(), v.token_types.end(), TokenType::UserDefined), 1);

    EXPECT_EQ(sentencepiece_vocab_is_bpe(v), std::string(type) == "bpe");
    const auto from_vocab = make_tokenizer(v);
    ASSERT_EQ(from_vocab->kind(), "sentencepiece");
    std::mt19937 rng(3);
    std::vector<std::string> probes = kProbe;
    for (int i = 0; i < 50; ++i) {
      std::string s;
      for (int k = 0; k < 8; ++k) s += std::string(1, static_cast<char>('a' + rng() % 26)) + (rng() % 3 ? "" : " ");
      probes.push_back(s);
    }
    for (const std::string& s : probes) {
      EXPECT_EQ(from_vocab->encode(s), from_file.encode(s)) << type << ": '" << s << "'";
      EXPECT_EQ(from_vocab->encode(s, false), from_file.encode(s, false)) << type << ": '" << s << "'";
      EXPECT_EQ(from_vocab->decode(from_file.encode(s)), s) << type;
    }
  }
}

TEST_F(SentencePieceTokenizerTest, ControlTokensOnlyWhenParsingSpecial) {
  const SentencePieceTokenizer t(model("bpe"));
  const int32_t ctl = t.token_id("<|ctl|>").value();
  EXPECT_TRUE(t.is_control(ctl));
  const auto ids = t.encode("<|ctl|>x");
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), ctl);
  const auto plain = t.encode("<|ctl|>x", false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), ctl), 0);
  EXPECT_EQ(t.decode(ids, /*skip_control=*/true), "x");
  // The user-defined piece is one token whichever way.
  const int32_t note = t.token_id("<note>").value();
  const auto n = t.encode("a<note>b", false);
  EXPECT_EQ(std::count(n.begin(), n.end(), note), 1);
}

TEST_F(SentencePieceTokenizerTest, AddSpacePrefixFalseDropsTheDummySpace) {
  VocabData v = vocab_from_sentencepiece_model(model("bpe"));
  v.add_space_prefix = false;
  const SentencePieceTokenizer t(v);
  const auto ids = t.encode("hello");
  ASSERT_FALSE(ids.empty());
  EXPECT_NE(t.token_text(ids.front()).front(), ' ');
  EXPECT_EQ(t.decode(ids), "hello");
}

TEST(SentencePieceTokenizer, RejectsBadVocabularies) {
  VocabData v;
  v.model = "llama";
  v.tokens = {"a", "b"};
  v.scores = {0.0f, -1.0f};
  try {
    make_tokenizer(v);
    FAIL() << "expected an error";
  } catch (const Error& e) {  // libsentencepiece requires an unknown piece
    EXPECT_NE(std::string(e.what()).find("sentencepiece: cannot load model proto"), std::string::npos) << e.what();
  }
  v.scores = {0.0f};
  EXPECT_THROW(make_tokenizer(v), Error);
  EXPECT_THROW(SentencePieceTokenizer(std::filesystem::path("/nonexistent/tokenizer.model")), Error);
}

// An HF folder whose tokenizer.json is SPM-style (Metaspace pre-tokenizer, byte fallback: not byte-level BPE) uses
// tokenizer.model next to it; without tokenizer.model the tokenizer.json error stands.
TEST_F(SentencePieceTokenizerTest, HfFolderFallsBackToTokenizerModel) {
  const auto hf = dir_ / "hf";
  std::filesystem::create_directories(hf);
  for (const char* f : {"config.json", "model.safetensors"})
    std::filesystem::copy_file(std::filesystem::path(FLUX_TEST_DATA_DIR) / "tiny_llama" / f, hf / f,
                               std::filesystem::copy_options::overwrite_existing);
  std::ofstream(hf / "tokenizer.json")
      << R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "byte_fallback": true},)"
         R"( "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581"}, "normalizer": null})";
  std::ofstream(hf / "tokenizer_config.json")
      << R"({"chat_template": [{"name": "default", "template": "D"}, {"name": "rag", "template": "R"}]})";
  std::filesystem::copy_file(model("bpe"), hf / "tokenizer.model", std::filesystem::copy_options::overwrite_existing);
  const flux::engine::ModelFiles files = flux::engine::ModelFiles::open(hf);
  EXPECT_EQ(files.summary().tokenizer_kind, "sentencepiece");
  EXPECT_EQ(files.vocab().chat_template, "D");
  EXPECT_EQ(files.vocab().named_chat_templates.at("rag"), "R");
  const auto tokenizer = files.make_tokenizer();
  ASSERT_NE(tokenizer, nullptr);
  EXPECT_EQ(tokenizer->decode(tokenizer->encode("hello world")), "hello world");

  std::filesystem::remove(hf / "tokenizer.model");
  try {
    flux::engine::ModelFiles::open(hf);
    ADD_FAILURE() << "an unsupported tokenizer.json without tokenizer.model loaded";
  } catch (const flux::engine::Error& e) {
    EXPECT_NE(std::string(e.what()).find("pre-tokenizer"), std::string::npos) << e.what();
  }
}
