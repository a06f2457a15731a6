#include "engine/tokenizer/hf_tokenizer_json.h"

#include <gtest/gtest.h>

#include <fstream>

#include "engine/core/error.h"
#include "engine/tokenizer/byte_unicode.h"
#include "engine/tokenizer/tokenizer.h"

using namespace flux::engine;
using nlohmann::json;

namespace {

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

json smollm_pre() {
  return {{"type", "Sequence"},
          {"pretokenizers", json::array({{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true)})}};
}

// A byte-complete vocabulary with merges given as [a, b] pairs (newer tokenizers) or "a b" strings (older).
json tiny_tokenizer_json(bool pair_merges) {
  json vocab = json::object();
  int id = 0;
  for (int b = 0; b < 256; ++b) vocab[bytes_to_unicode(std::string(1, static_cast<char>(b)))] = id++;
  vocab["he"] = id++;
  vocab["\xC4\xA0h"] = id++;
  json merges = pair_merges ? json::array({json::array({"h", "e"}), json::array({"\xC4\xA0", "h"})})
                            : json::array({"h e", "\xC4\xA0 h"});
  json added = json::array({{{"id", id}, {"content", "<|im_start|>"}, {"special", true}},
                            {{"id", id + 1}, {"content", "<|im_end|>"}, {"special", true}},
                            {{"id", id + 2}, {"content", "<note>"}, {"special", false}}});
  return {{"version", "1.0"},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", smollm_pre()},
          {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}}};
}

std::string error_of(const json& tok) {
  try {
    vocab_from_hf_tokenizer_json(tok, nullptr);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(HfTokenizerJson, LoadsVocabMergesAndAddedTokens) {
  for (const bool pairs : {false, true}) {
    const VocabData v = vocab_from_hf_tokenizer_json(tiny_tokenizer_json(pairs), nullptr);
    EXPECT_EQ(v.model, "gpt2");
    EXPECT_EQ(v.pre, "smollm");
    ASSERT_EQ(v.tokens.size(), 261u);
    EXPECT_EQ(v.merges, (std::vector<std::string>{"h e", "\xC4\xA0 h"}));
    EXPECT_EQ(v.tokens[258], "<|im_start|>");
    EXPECT_EQ(v.token_types[258], TokenType::Control);
    EXPECT_EQ(v.token_types[260], TokenType::UserDefined);
    const auto t = make_tokenizer(v);
    EXPECT_EQ(t->encode("<|im_start|>he 7"),
              (std::vector<int32_t>{258, 256, *t->token_id("\xC4\xA0"), *t->token_id("7")}));
  }
}

TEST(HfTokenizerJson, RecognizesPreTokenizers) {
  EXPECT_EQ(pre_id_from_hf_pre_tokenizer(byte_level(true)), "gpt2");
  EXPECT_EQ(pre_id_from_hf_pre_tokenizer(smollm_pre()), "smollm");
  const auto split = [](const std::string& re) {
    return json{{"type", "Sequence"},
                {"pretokenizers", json::array({{{"type", "Split"}, {"pattern", {{"Regex", re}}}, {"behavior", "Isolated"},
                                                {"invert", false}},
                                               byte_level(false)})}};
  };
  const std::string llama3 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const std::string qwen2 =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  EXPECT_EQ(pre_id_from_hf_pre_tokenizer(split(llama3)), "llama-bpe");
  EXPECT_EQ(pre_id_from_hf_pre_tokenizer(split(qwen2)), "qwen2");
  EXPECT_THROW(pre_id_from_hf_pre_tokenizer(split("\\w+")), Error);
}

TEST(HfTokenizerJson, ErrorCases) {
  json tok = tiny_tokenizer_json(false);
  tok["model"]["merges"] = json::array();
  EXPECT_NE(error_of(tok).find("tokenizer: BPE vocabulary has no merges"), std::string::npos) << error_of(tok);

  tok = tiny_tokenizer_json(false);
  tok["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"}};
  EXPECT_NE(error_of(tok).find("unsupported pre-tokenizer"), std::string::npos) << error_of(tok);

  tok = tiny_tokenizer_json(false);
  tok["model"]["type"] = "WordPiece";
  EXPECT_NE(error_of(tok).find("unsupported model type 'WordPiece'"), std::string::npos) << error_of(tok);

  tok = tiny_tokenizer_json(false);
  tok["added_tokens"].push_back({{"id", 300}, {"content", "<gap>"}, {"special", true}});
  EXPECT_NE(error_of(tok).find("token id 300 leaves gaps"), std::string::npos) << error_of(tok);

  tok = tiny_tokenizer_json(false);
  tok["model"].erase("vocab");
  EXPECT_NE(error_of(tok).find("malformed tokenizer JSON"), std::string::npos) << error_of(tok);

  EXPECT_THROW(vocab_from_hf_tokenizer_json(std::filesystem::path("/nonexistent/tokenizer.json")), Error);
}

TEST(HfTokenizerJson, ReadsTokenizerConfigNextToIt) {
  const auto dir = std::filesystem::temp_directory_path() / "flux_hf_tokenizer_json_test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << tiny_tokenizer_json(true).dump();
  std::ofstream(dir / "tokenizer_config.json")
      << json{{"bos_token", "<|im_start|>"}, {"eos_token", {{"content", "<|im_end|>"}}}, {"add_bos_token", true},
              {"chat_template", "{{'<|im_start|>'}}"}}.dump();
  const VocabData v = vocab_from_hf_tokenizer_json(dir / "tokenizer.json");
  EXPECT_EQ(v.bos_id, 258);
  EXPECT_EQ(v.eos_id, 259);
  EXPECT_EQ(v.add_bos, true);
  EXPECT_EQ(v.chat_template, "{{'<|im_start|>'}}");
  std::filesystem::remove_all(dir);
}

TEST(HfTokenizerJson, WriterRoundTripsEveryPreId) {
  for (const char* pre : {"gpt2", "smollm", "llama-bpe", "qwen2"}) {
    VocabData v = vocab_from_hf_tokenizer_json(tiny_tokenizer_json(false), nullptr);
    v.pre = pre;
    v.bos_id = 258;
    v.eos_id = 259;
    v.chat_template = "T";
    const json written = hf_tokenizer_json(v);
    const json config = hf_tokenizer_config_json(v);
    EXPECT_EQ(config["eos_token"], "<|im_end|>");
    const VocabData back = vocab_from_hf_tokenizer_json(written, &config);
    EXPECT_EQ(back.pre, pre);
    EXPECT_EQ(back.tokens, v.tokens);
    EXPECT_EQ(back.token_types, v.token_types);
    EXPECT_EQ(back.merges, v.merges);
    EXPECT_EQ(back.bos_id, v.bos_id);
    EXPECT_EQ(back.eos_id, v.eos_id);
    EXPECT_EQ(back.chat_template, "T");
  }
  VocabData spm;
  spm.model = "llama";
  EXPECT_THROW(hf_tokenizer_json(spm), Error);
}

// TemplateProcessing's single template decides BOS/EOS (Llama 3's <|begin_of_text|>), also inside a Sequence;
// tokenizer_config.json's add_bos_token, when given, overrides it.
TEST(HfTokenizerJson, PostProcessorAddsBos) {
  json tok = tiny_tokenizer_json(true);
  const json single = json::array({{{"SpecialToken", {{"id", "<|im_start|>"}, {"type_id", 0}}}},
                                   {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}});
  tok["post_processor"] = {
      {"type", "Sequence"},
      {"processors", json::array({{{"type", "ByteLevel"}, {"add_prefix_space", true}},
                                  {{"type", "TemplateProcessing"},
                                   {"single", single},
                                   {"special_tokens", {{"<|im_start|>", {{"id", "<|im_start|>"}, {"ids", {258}}}}}}}})}};
  VocabData v = vocab_from_hf_tokenizer_json(tok, nullptr);
  EXPECT_EQ(v.bos_id, 258);
  EXPECT_EQ(v.add_bos, true);
  EXPECT_EQ(v.add_eos, false);
  const json no_bos = {{"add_bos_token", false}};
  EXPECT_EQ(vocab_from_hf_tokenizer_json(tok, &no_bos).add_bos, false);

  // Only the text: nothing added. Text then EOS (looked up by name without special_tokens).
  tok["post_processor"] = {{"type", "TemplateProcessing"},
                           {"single", json::array({{{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                                   {{"SpecialToken", {{"id", "<|im_end|>"}, {"type_id", 0}}}}})}};
  v = vocab_from_hf_tokenizer_json(tok, nullptr);
  EXPECT_EQ(v.add_bos, false);
  EXPECT_EQ(v.add_eos, true);
  EXPECT_EQ(v.eos_id, 259);

  tok["post_processor"]["single"] = json::array({{{"SpecialToken", {{"id", "<nope>"}}}}, {{"Sequence", {{"id", "A"}}}}});
  EXPECT_NE(error_of(tok).find("post_processor token '<nope>' is not in the vocabulary"), std::string::npos)
      << error_of(tok);
  tok["post_processor"]["single"] = json::array(
      {{{"SpecialToken", {{"id", "<|im_start|>"}}}}, {{"SpecialToken", {{"id", "<|im_end|>"}}}}, {{"Sequence", {{"id", "A"}}}}});
  EXPECT_NE(error_of(tok).find("adds 2 tokens before"), std::string::npos) << error_of(tok);
}

// tokenizer_config.json's list form [{name, template}]: "default" is the template, every one is kept by name.
TEST(HfTokenizerJson, NamedChatTemplates) {
  const json config = {{"chat_template", json::array({{{"name", "default"}, {"template", "{{ 'D' }}"}},
                                                      {{"name", "tool_use"}, {"template", "{{ 'T' }}"}},
                                                      {{"template", "no name: skipped"}}})}};
  const VocabData v = vocab_from_hf_tokenizer_json(tiny_tokenizer_json(true), &config);
  EXPECT_EQ(v.chat_template, "{{ 'D' }}");
  EXPECT_EQ(v.named_chat_templates, (std::map<std::string, std::string>{{"default", "{{ 'D' }}"}, {"tool_use", "{{ 'T' }}"}}));
}
