// `inspect PATH`: validate a GGUF file, a safetensors file or an HF directory as a model and summarize it.
// Exit 0 only if the model can load (container, config, every decoder tensor with its shape, the tokenizer, and the
// layer router a plain load would attach: the checkpoint's own or the one shipped for the model's file name).
#include <cstdio>

#include "app/cli/commands.h"
#include "app/cli/terminal_text.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/runtime/engine.h"

namespace flux::cli {
namespace {

int run_inspect(const std::string& path) {
  const engine::ModelFiles files = engine::ModelFiles::open(path);
  engine::validate_decoder_tensors(files);
  const auto tokenizer = files.make_tokenizer();
  const engine::ModelSummary s = files.summary();
  const engine::ModelConfig& c = s.config;
  std::printf("model:         %s\n", printable(s.name).c_str());
  std::printf("path:          %s (%s)\n", printable(s.path).c_str(), s.format.c_str());
  std::printf("architecture:  %s\n", printable(c.architecture).c_str());
  std::printf("layers:        %d\n", c.n_layers);
  std::printf("hidden:        %d (ffn %d)\n", c.hidden, c.ffn_hidden);
  std::printf("heads:         %d query / %d key-value, head dim %d\n", c.n_heads, c.n_kv_heads, c.head_dim);
  std::printf("context:       %d\n", c.context_length);
  std::printf("rope theta:    %g\n", static_cast<double>(c.rope_theta));
  std::printf("rms eps:       %g\n", static_cast<double>(c.rms_eps));
  std::printf("flags:         qk_norm=%s tied_embeddings=%s attention_bias=%s\n", c.qk_norm ? "yes" : "no",
              c.tied_embeddings ? "yes" : "no", c.attention_bias ? "yes" : "no");
  std::printf("parameters:    %lld (%.1f M)\n", static_cast<long long>(s.n_params), s.n_params / 1e6);
  std::printf("tensors:       %lld:", static_cast<long long>(s.n_tensors));
  for (const auto& [type, n] : s.tensor_types) std::printf(" %s=%d", type.c_str(), n);
  std::printf("\nquantization:  %s\n", printable(s.quantization).c_str());
  std::printf("vocab:         %d tokens (model vocab_size %d)\n", tokenizer->vocab_size(), c.vocab_size);
  std::printf("tokenizer:     %s%s%s\n", printable(tokenizer->kind()).c_str(), tokenizer->pre().empty() ? "" : ", pre ",
              printable(tokenizer->pre()).c_str());
  std::printf("chat template: %s\n", printable(s.chat_format).c_str());
  // The router a plain load picks (a shipped one by file name is picked silently): loaded and fitted to the shape.
  std::string source;
  try {
    const auto router = engine::load_engine_router(files, engine::EngineOptions{}, source);
    std::printf("router:        %s\n",
                router ? printable(source + " (" + std::to_string(router->n_layers()) + " layers, fits)").c_str()
                       : "none");
  } catch (const engine::Error& e) {
    std::printf("router:        %s\n", printable(e.what()).c_str());
    std::printf("status:        NOT loadable with its default router\n");
    std::fprintf(stderr, "error: %s\n", printable(e.what()).c_str());
    return 1;
  }
  std::printf("status:        OK, loadable\n");
  return 0;
}

}  // namespace

Command add_inspect_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("inspect", "validate a model file or directory and print a summary");
  cmd->add_option("path", *path, "GGUF file, .safetensors file or HF model directory")->required();
  return {cmd, [path] { return run_inspect(*path); }};
}

}  // namespace flux::cli
