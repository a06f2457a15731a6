// Chat prompts rendered from the model's own Jinja chat template (GGUF `tokenizer.chat_template`, HF
// tokenizer_config.json `chat_template` or chat_template.jinja), as transformers' apply_chat_template renders them.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/tokenizer/chat_template.h"
#include "engine/tokenizer/jinja/template.h"

namespace flux::engine {

struct ChatTemplateInputs {
  std::vector<ChatMessage> messages;
  bool add_generation_prompt = true;
  // The token texts (not ids) the template may print, e.g. "<|begin_of_text|>" and "<|eot_id|>"; "" when none.
  std::string bos_token, eos_token;
  // More template variables, as transformers' **kwargs: {"enable_thinking": false}, {"date_string": "26 Jul 2024"},
  // {"tools": [...]}; a key here replaces a variable above (a "messages" array may carry tool_calls). Must be an
  // object or null.
  nlohmann::ordered_json extra_variables;
  // The clock strftime_now() reads (local time); unset: now.
  std::optional<std::time_t> now;
  jinja::RenderLimits limits;
};

class JinjaChatTemplate {
 public:
  // Compiles once; throws Error "chat template: template:LINE:COLUMN: ..." when the text is not valid Jinja or uses
  // a filter or test the interpreter does not have.
  static JinjaChatTemplate compile(const std::string& source);

  // The prompt text. Variables as transformers passes them: messages (role, content), add_generation_prompt,
  // bos_token, eos_token, tools = none, documents = none, raise_exception(msg), strftime_now(fmt), then
  // `extra_variables`. Throws Error "chat template: ..." on a render error or a limit reached, and
  // "chat template raised: <message>" when the template calls raise_exception.
  std::string render(const ChatTemplateInputs& inputs) const;

 private:
  jinja::Template template_;
};

}  // namespace flux::engine
