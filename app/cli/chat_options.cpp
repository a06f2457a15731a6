#include "app/cli/chat_options.h"

#include <cstdio>

namespace flux::cli {

void add_chat_template_options(CLI::App& app, ChatTemplateOptions& o) {
  app.add_option("--chat-template", o.chat_template,
                 "with --chat: a Jinja chat template FILE, or the NAME of one of the model's named templates "
                 "(tokenizer_config.json list form, e.g. tool_use); default: the model's own, else a built-in family");
  app.add_option("--chat-template-kwargs", o.kwargs,
                 "extra template variables as a JSON object, e.g. '{\"enable_thinking\": false}'");
  app.add_flag("--verbose-prompt", o.verbose_prompt,
               "print the prompt as the model sees it (after the chat template) and its tokens to stderr");
  add_parse_special_option(app, o.parse_special);
}

void add_parse_special_option(CLI::App& app, bool& parse_special) {
  app.add_flag("--parse-special,!--no-parse-special", parse_special,
               "control-token spellings in the prompt and --system (e.g. <|im_start|>) become control tokens, as "
               "Hugging Face tokenizers do (the default); --no-parse-special keeps them text (the chat template's "
               "own control tokens stay tokens either way; the report's settings.parse_special says which)");
}

void apply_chat_template_options(const ChatTemplateOptions& o, engine::RunSettings& settings) {
  settings.chat_template = o.chat_template;
  settings.chat_template_kwargs = o.kwargs;
  settings.parse_special = o.parse_special;
}

void print_verbose_prompt(const engine::Engine& engine, const std::string& prompt, const engine::RunSettings& settings) {
  std::string format;
  const std::string text = engine.render_prompt(prompt, settings, &format);
  const std::vector<int32_t> ids = engine.tokenize_prompt(prompt, settings);
  std::fprintf(stderr, "prompt (chat_format: %s), %zu tokens:\n%s\n", format.c_str(), ids.size(), text.c_str());
  for (const int32_t id : ids) {
    std::string piece;  // one line per token: control characters escaped
    for (const char ch : engine.tokenizer().token_text(id))
      piece += ch == '\n' ? std::string("\\n") : ch == '\t' ? std::string("\\t") : ch == '\r' ? std::string("\\r")
                                                                                           : std::string(1, ch);
    std::fprintf(stderr, "%8d -> '%s'\n", id, piece.c_str());
  }
  std::fprintf(stderr, "\n");
}

}  // namespace flux::cli
