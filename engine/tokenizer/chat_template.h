// Chat prompt formatting for the template families the engine supports natively (no Jinja interpreter): the model's
// Jinja text only selects the family and supplies a default system prompt.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace flux::engine {

class Tokenizer;

enum class ChatFormat { Raw, ChatML, Llama3 };

struct ChatMessage {
  std::string role;  // "system", "user", "assistant", ...
  std::string content;
};

// ChatML when the template mentions "<|im_start|>", Llama3 when it mentions "<|start_header_id|>", else Raw.
// `architecture` is the fallback for models without a template ("qwen2"/"qwen3" -> ChatML).
ChatFormat detect_chat_format(const std::string& jinja_template, const std::string& architecture);

// The literal system prompt a ChatML template inserts when the conversation has none (SmolLM2: "You are a helpful AI
// assistant named SmolLM, trained by Hugging Face"), or "" when the template has none.
std::string default_system_prompt(const std::string& jinja_template);

// The prompt text for `messages`. When the first message is not a system message and `default_system_prompt` is not
// empty, a system message with it comes first. Llama3 leaves "<|begin_of_text|>" (BOS) to the caller and trims each
// content, as its template does. Raw joins the contents with "\n".
std::string apply_chat_template(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                std::string_view default_system_prompt = {});

// Token texts that end an assistant turn in `format` ("<|im_end|>", "<|eot_id|>"); the EOS token is separate.
std::vector<std::string> stop_strings(ChatFormat format);

// The end-of-turn token texts a Jinja chat template prints, of those the engine knows: <|im_end|> (ChatML),
// <|eot_id|> and <|eom_id|> (Llama 3), <end_of_turn> (Gemma), <|end|> (Phi-3), in that order.
std::vector<std::string> end_of_turn_strings(const std::string& jinja_template);

// Ids that end generation: the stop strings that are single tokens of `tokenizer`, plus its EOS.
std::vector<int32_t> stop_token_ids(ChatFormat format, const Tokenizer& tokenizer);

std::string_view chat_format_name(ChatFormat format);

}  // namespace flux::engine
