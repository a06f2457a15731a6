// `tokenize`: print the token ids of a text (one line, space-separated), or with --detokenize the text of ids.
#include <cstdio>
#include <sstream>

#include "app/cli/commands.h"
#include "app/cli/run_options.h"
#include "engine/core/error.h"
#include "engine/model/model_files.h"

namespace flux::cli {
namespace {

struct TokenizeOptions {
  std::string model;
  PromptOptions prompt;
  bool detokenize = false;
  bool no_special = false;
};

std::vector<int32_t> parse_ids(const std::string& text, int32_t vocab) {
  std::vector<int32_t> ids;
  std::istringstream in(text);
  std::string word;
  while (in >> word) {
    std::size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(word, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    engine::require(used == word.size(), "--detokenize: '{}' is not a token id", word);
    engine::require(v >= 0 && v < vocab, "--detokenize: id {} is outside the vocabulary (0..{})", v, vocab - 1);
    ids.push_back(static_cast<int32_t>(v));
  }
  return ids;
}

int run_tokenize(const TokenizeOptions& o) {
  const engine::ModelFiles files = engine::ModelFiles::open(resolve_model_path(o.model));
  const auto tokenizer = files.make_tokenizer();
  const std::string input = read_prompt(o.prompt);
  if (o.detokenize) {
    const std::string text = tokenizer->decode(parse_ids(input, tokenizer->vocab_size()));
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::printf("\n");
    return 0;
  }
  const std::vector<int32_t> ids = tokenizer->encode(input, !o.no_special);
  for (std::size_t i = 0; i < ids.size(); ++i) std::printf(i ? " %d" : "%d", ids[i]);
  std::printf("\n");
  return 0;
}

}  // namespace

Command add_tokenize_command(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand("tokenize", "print token ids of a text, or text of ids with --detokenize");
  cmd->add_option("-m,--model", o->model, "model whose tokenizer to use (default: the embedded SmolLM2)");
  cmd->add_option("-p,--prompt", o->prompt.prompt, "text (or ids with --detokenize)");
  cmd->add_option("-f,--file", o->prompt.file, "read the text from a file");
  cmd->add_flag("--detokenize", o->detokenize, "input is space-separated ids; print their text");
  cmd->add_flag("--no-special", o->no_special, "do not turn special-token spellings into their ids");
  return {cmd, [o] { return run_tokenize(*o); }};
}

}  // namespace flux::cli
