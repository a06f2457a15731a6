// The chat-template flags of the commands that run --chat prompts (generate, sweep): which template, its extra
// variables, whether the user's control-token spellings are tokens (--parse-special), and --verbose-prompt, which prints the prompt as the model sees it before the run.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "engine/runtime/engine.h"

namespace flux::cli {

struct ChatTemplateOptions {
  std::string chat_template;  // --chat-template FILE|NAME; "" = the model's own
  std::string kwargs;         // --chat-template-kwargs JSON object
  bool verbose_prompt = false;
  bool parse_special = true;  // --parse-special / --no-parse-special (RunSettings::parse_special)
};
void add_chat_template_options(CLI::App& app, ChatTemplateOptions& o);
// --parse-special / --no-parse-special, also for commands without chat templates (perplexity).
void add_parse_special_option(CLI::App& app, bool& parse_special);
void apply_chat_template_options(const ChatTemplateOptions& o, engine::RunSettings& settings);

// --verbose-prompt: to stderr, what built the prompt (chat_format), its text and its token ids with their pieces.
void print_verbose_prompt(const engine::Engine& engine, const std::string& prompt, const engine::RunSettings& settings);

}  // namespace flux::cli
