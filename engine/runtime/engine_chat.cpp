// Engine's chat prompts: which template renders them (--chat-template FILE|NAME, else the model's own, else the
// built-in family), the template variables (--chat-template-kwargs), and the tokens that end the assistant's turn.
#include <algorithm>

#include "engine/core/error.h"
#include "engine/core/input_file.h"
#include "engine/runtime/engine.h"
#include "engine/tokenizer/chat_template_jinja.h"
#include "engine/tokenizer/user_text_marks.h"

namespace flux::engine {
namespace {

// The user's text as one message: a pasted or file prompt usually ends in a newline the user did not mean as part
// of the question.
ChatMessage user_message(const std::string& prompt) {
  const auto end = prompt.find_last_not_of(" \t\r\n");
  return {"user", end == std::string::npos ? std::string() : prompt.substr(0, end + 1)};
}

nlohmann::ordered_json parse_kwargs(const std::string& text) {
  if (text.empty()) return nullptr;
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, false);
  require(!j.is_discarded() && j.is_object(), "--chat-template-kwargs '{}': not a JSON object (e.g. '{{\"enable_thinking\": false}}')",
          text);
  return j;
}

}  // namespace

std::vector<std::string> Engine::chat_template_names() const {
  std::vector<std::string> names;
  for (const auto& [name, text] : named_chat_templates_) names.push_back(name);
  return names;
}

std::string Engine::render_prompt(const std::string& prompt, const RunSettings& settings,
                                  std::string* chat_format) const {
  return render_prompt_text(prompt, settings, chat_format).text;
}

UnmarkedText Engine::render_prompt_text(const std::string& prompt, const RunSettings& settings,
                                        std::string* chat_format) const {
  require(tokenizer_ != nullptr, "{} has no tokenizer: give the prompt as token ids", summary_.name);
  auto said = [&](std::string what) {
    if (chat_format != nullptr) *chat_format = std::move(what);
  };
  if (!settings.chat) {
    said("none (no chat template: the prompt as given)");
    UnmarkedText raw{prompt, {}};
    if (!settings.parse_special) raw.literal_at = tokenizer_->control_starts(prompt);
    return raw;
  }
  // Without parse_special the user's text (prompt and --system) is marked, so its control spellings stay text in
  // whatever the template makes of it; the template's own (and its default system prompt) stay control tokens.
  auto user_text = [&](const std::string& text) {
    return settings.parse_special ? text : mark_user_text(text, *tokenizer_);
  };
  // The template this run renders: the one named by --chat-template, else the model's compiled one.
  std::shared_ptr<const JinjaChatTemplate> jinja = chat_template_;
  std::string source = chat_template_source_;
  if (!settings.chat_template.empty()) {
    const std::string& choice = settings.chat_template;
    std::string text;
    if (const auto named = named_chat_templates_.find(choice); named != named_chat_templates_.end()) {
      text = named->second;
      source = "the model's Jinja template '" + choice + "'";
    } else {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(choice, ec)) {
        std::string names;
        for (const auto& n : chat_template_names()) names += (names.empty() ? "" : ", ") + n;
        fail("--chat-template {}: no such file, and the model has no template of that name ({})", choice,
             names.empty() ? "it has no named templates" : "its named templates: " + names);
      }
      text = read_input_file(choice, "chat template");
      source = "Jinja file " + choice;
    }
    try {
      jinja = std::make_shared<const JinjaChatTemplate>(JinjaChatTemplate::compile(text));
    } catch (const Error& e) {
      fail("--chat-template {}: {}", choice, e.what());
    }
  }
  std::string text;
  if (jinja) {
    // The template inserts its own default system prompt when the conversation has none.
    ChatTemplateInputs in;
    if (!settings.system_prompt.empty()) in.messages.push_back({"system", user_text(settings.system_prompt)});
    in.messages.push_back(user_message(prompt));
    in.messages.back().content = user_text(in.messages.back().content);
    if (tokenizer_->bos_id()) in.bos_token = tokenizer_->token_text(*tokenizer_->bos_id());
    if (tokenizer_->eos_id()) in.eos_token = tokenizer_->token_text(*tokenizer_->eos_id());
    in.extra_variables = parse_kwargs(settings.chat_template_kwargs);
    text = jinja->render(in);  // a render error (e.g. "System role not supported") fails the run
  } else {
    parse_kwargs(settings.chat_template_kwargs);  // still checked: a typo should not pass silently
    std::vector<ChatMessage> messages;
    const std::string system =
        settings.system_prompt.empty() ? default_system_prompt_ : user_text(settings.system_prompt);
    if (!system.empty()) messages.push_back({"system", system});
    messages.push_back(user_message(prompt));
    messages.back().content = user_text(messages.back().content);
    text = apply_chat_template(chat_format_, messages, true, "");
    if (!settings.chat_template_kwargs.empty()) source += "; --chat-template-kwargs ignored (no Jinja template)";
  }
  said(source);
  return unmark(text);
}

std::vector<int32_t> Engine::stop_ids(const RunSettings& settings) const {
  std::vector<int32_t> ids = stop_token_ids(chat_format_, *tokenizer_);
  if (!settings.chat) return ids;
  std::string text = chat_template_text_;
  if (const auto named = named_chat_templates_.find(settings.chat_template); named != named_chat_templates_.end())
    text = named->second;
  else if (!settings.chat_template.empty())
    text = read_input_file(settings.chat_template, "chat template");
  for (const std::string& s : end_of_turn_strings(text)) {
    const auto id = tokenizer_->token_id(s);
    if (id && std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
  }
  return ids;
}

}  // namespace flux::engine
