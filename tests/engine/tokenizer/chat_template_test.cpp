#include "engine/tokenizer/chat_template.h"

#include <gtest/gtest.h>

#include "engine/tokenizer/bpe_tokenizer.h"
#include "engine/tokenizer/byte_unicode.h"

using namespace flux::engine;

namespace {

const std::string kSmolTemplate =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
const std::string kQwenTemplate =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\n"
    "You are a helpful assistant.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";
const std::string kLlama3Template =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + "
    "message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}"
    "{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}";

}  // namespace

TEST(ChatTemplate, DetectsFormat) {
  EXPECT_EQ(detect_chat_format(kSmolTemplate, "llama"), ChatFormat::ChatML);
  EXPECT_EQ(detect_chat_format(kLlama3Template, "llama"), ChatFormat::Llama3);
  EXPECT_EQ(detect_chat_format("", "llama"), ChatFormat::Raw);
  EXPECT_EQ(detect_chat_format("", "qwen2"), ChatFormat::ChatML);
  EXPECT_EQ(detect_chat_format("{{ messages }}", "llama"), ChatFormat::Raw);
  EXPECT_EQ(chat_format_name(ChatFormat::ChatML), "chatml");
}

TEST(ChatTemplate, ExtractsDefaultSystemPrompt) {
  EXPECT_EQ(default_system_prompt(kSmolTemplate), "You are a helpful AI assistant named SmolLM, trained by Hugging Face");
  EXPECT_EQ(default_system_prompt(kQwenTemplate), "You are a helpful assistant.");
  EXPECT_EQ(default_system_prompt(kLlama3Template), "");
  EXPECT_EQ(default_system_prompt("{{'<|im_start|>system\n' + message['content'] + '<|im_end|>'}}"), "");
}

TEST(ChatTemplate, ChatMLWithSmolLM2DefaultSystemPrompt) {
  const std::string sys = default_system_prompt(kSmolTemplate);
  EXPECT_EQ(apply_chat_template(ChatFormat::ChatML, {{"user", "Hi!"}}, true, sys),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(apply_chat_template(ChatFormat::ChatML, {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello"}},
                                false, sys),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
            "<|im_start|>assistant\nHello<|im_end|>\n");
  EXPECT_EQ(apply_chat_template(ChatFormat::ChatML, {{"user", "x"}}, false),
            "<|im_start|>user\nx<|im_end|>\n");
}

TEST(ChatTemplate, Llama3LeavesBosToTheCaller) {
  EXPECT_EQ(apply_chat_template(ChatFormat::Llama3, {{"system", "S"}, {"user", "  Hi \n"}}, true),
            "<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, RawJoinsContents) {
  EXPECT_EQ(apply_chat_template(ChatFormat::Raw, {{"user", "a"}, {"user", "b"}}, true), "a\nb");
}

TEST(ChatTemplate, StopTokens) {
  EXPECT_EQ(stop_strings(ChatFormat::ChatML), std::vector<std::string>{"<|im_end|>"});
  EXPECT_EQ(stop_strings(ChatFormat::Llama3), std::vector<std::string>{"<|eot_id|>"});
  EXPECT_TRUE(stop_strings(ChatFormat::Raw).empty());

  VocabData v;
  v.model = "gpt2";
  v.pre = "gpt2";
  v.tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  v.token_types = {TokenType::Control, TokenType::Control, TokenType::Control};
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(bytes_to_unicode(std::string(1, static_cast<char>(b))));
    v.token_types.push_back(TokenType::Normal);
  }
  v.tokens.push_back("ab");
  v.token_types.push_back(TokenType::Normal);
  v.merges = {"a b"};
  v.eos_id = 0;
  const BpeTokenizer t(v);
  EXPECT_EQ(stop_token_ids(ChatFormat::ChatML, t), (std::vector<int32_t>{2, 0}));
  EXPECT_EQ(stop_token_ids(ChatFormat::Llama3, t), (std::vector<int32_t>{0}));
}
