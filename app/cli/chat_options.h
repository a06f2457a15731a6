// The chat-template flags of the commands that run --chat prompts (generate, sweep): which template, its extra
// variables, and --verbose-prompt, which prints the prompt as the model sees it before the run.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include "engine/runtime/engine.h"

namespace flux::cli {

struct ChatTemplateOptions {
  std::string chat_template;  // --chat-template FILE|NAME; "" = the model's own
  std::string kwargs;         // --chat-template-kwargs JSON object
  bool verbose_prompt = false;
};
void add_chat_template_options(CLI::App& app, ChatTemplateOptions& o);
void apply_chat_template_options(const ChatTemplateOptions& o, engine::RunSettings& settings);

// --verbose-prompt: to stderr, what built the prompt (chat_format), its text and its token ids with their pieces.
void print_verbose_prompt(const engine::Engine& engine, const std::string& prompt, const engine::RunSettings& settings);

}  // namespace flux::cli
