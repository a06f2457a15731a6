#include "app/cli/run_options.h"
#include "app/cli/number_checks.h"

#include <cstdlib>

#include "engine/backend/cpu_threads.h"
#include "engine/core/error.h"
#include "engine/core/input_file.h"
#include "engine/routing/route_spec.h"
#include "spdlog/spdlog.h"

namespace flux::cli {

using engine::require;

void add_model_options(CLI::App& app, ModelOptions& o) {
  app.add_option("-m,--model", o.model, "GGUF file or Hugging Face model directory (default: the embedded SmolLM2)");
  app.add_option("--backend", o.backend, "cpu, cuda or auto")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  app.add_option("-t,--threads", o.threads, "CPU threads (0 = all cores)")->check(non_negative());
  app.add_option("-c,--ctx-size", o.context, "context size in tokens (0 = the model's)")->check(non_negative());
  app.add_option("--random-weights", o.random_weights,
                 "no model file: random weights of a real shape (benchmarks; no tokenizer, use --prompt-tokens)")
      ->check(CLI::IsMember({"qwen3-8b", "llama3.1-8b", "smollm2-135m"}));
  app.add_option("--weights-seed", o.random_seed, "seed of --random-weights");
  app.add_option("--weights,--cpu-weights", o.cpu_weights,
                 "weight storage: native (GGUF blocks stay as stored: CPU kernels and CUDA GEMVs read the blocks; "
                 "16-bit types stay 16-bit on the CPU), f32 (the reference: fp32 on the CPU, bf16 on CUDA) or auto "
                 "(native on the CPU; on CUDA native above 1B parameters, bf16 below)")
      ->check(CLI::IsMember({"auto", "native", "f32"}));
  app.add_option("--random-quant", o.random_quant, "store --random-weights as these GGML blocks (e.g. q4_k)")
      ->check(CLI::IsMember({"q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q4_k", "q5_k", "q6_k", "f16", "bf16"}));
  app.add_option("--prefill-chunk", o.prefill_chunk,
                 "prompt rows per prefill chunk, so long prompts fit in memory (0 = the whole prompt at once)")
      ->check(non_negative());
}

void add_prompt_options(CLI::App& app, PromptOptions& o) {
  auto* p = app.add_option("-p,--prompt", o.prompt, "prompt text");
  auto* f = app.add_option("-f,--file", o.file, "read the prompt from a file");
  p->excludes(f);
  app.add_flag("--chat", o.chat, "wrap the prompt in the model's chat template");
  app.add_option("--system", o.system_prompt, "system prompt for --chat (default: the template's)");
}

void add_route_options(CLI::App& app, RouteOptions& o) {
  app.add_option("--route", o.route,
                 "routing: a preset (router, fa, sa, first-k:N, every-other), a route spec such as "
                 "\"router sa=triangle threshold=0.6 decode=reference override=0-3=FA\" (docs/routing.md), or FILE.json")
      ->default_str("router if the model has one, else fa");
  app.add_option("--router", o.router,
                 "layer router file (FluxScope router format); default: the checkpoint's own or the router shipped "
                 "for the model in resources/routers; 'none' for no router at all");
  app.add_option("--router-threshold", o.router_threshold,
                 "the router's scored side (Flux: FA, Elastic: SA) wins iff its probability > T (default: the router's)")
      ->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--override", o.overrides, "per-layer overrides, e.g. 0-5=FA,12=SA");
  app.add_option("--fa-kind", o.fa_kind, "what FA layers run (default: the router's; Flux xattn_* checkpoints: xattn)")
      ->check(CLI::IsMember({"full", "xattn"}));
  app.add_option("--sa-kind", o.sa_kind, "sparse attention kind (default: the router's, else streaming)")
      ->check(CLI::IsMember({"streaming", "triangle", "xattn"}));
  app.add_option("--decode-mode", o.decode_mode,
                 "how SA layers decode: reference (the authors': block streaming over the full cache, nothing "
                 "evicted) or fluxscope (streaming KV evicted, triangle/xattn dense); default: the router's "
                 "(Flux checkpoints: reference), else fluxscope")
      ->check(CLI::IsMember({"reference", "fluxscope"}));
  app.add_option("--sink", o.sink, "streaming/triangle: sink tokens (default: the router's, else 128)")->check(positive());
  app.add_option("--window", o.window, "streaming/triangle: local window tokens (default: the router's, else 1024)")->check(positive());
  app.add_option("--n-last", o.n_last, "triangle: dense last queries (default: the router's, else 128)")->check(positive());
  app.add_option("--block", o.block, "sparse block size in tokens (default: the router's, else 128)")->check(positive());
  app.add_option("--xattn-stride", o.stride, "XAttention antidiagonal stride (default 16)")->check(positive());
  app.add_option("--xattn-threshold", o.tau, "XAttention cumulative mass threshold (default 0.9)")
      ->check(CLI::Range(0.0, 1.0));
}

std::filesystem::path resolve_model_path(const std::string& given) {
  if (!given.empty()) return given;
  if (const char* env = std::getenv("FLUXSCOPE_MODEL"); env != nullptr && *env != '\0') return env;
  const std::filesystem::path name = "models/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (std::filesystem::exists(name)) return name;
  const std::filesystem::path in_source = std::filesystem::path(FLUX_SOURCE_DIR) / name;
  require(std::filesystem::exists(in_source),
          "no model given and the embedded default model is missing: run tools/fetch-demo-model.sh or pass -m");
  return in_source;
}

std::filesystem::path model_path(const ModelOptions& o) {
  if (o.random_weights.empty()) return resolve_model_path(o.model);
  require(o.model.empty(), "--random-weights {} and -m {}: give one model, not both", o.random_weights, o.model);
  return {};
}

std::string read_prompt(const PromptOptions& o) {
  if (o.file.empty()) return o.prompt;
  // A FIFO or /dev/zero is refused by name, a huge file by its size (64 MiB is ~16M tokens of text).
  return engine::read_input_file(o.file, "prompt file", std::size_t{64} << 20);
}

engine::RouteSpec route_spec(const RouteOptions& o) {
  engine::RouteSpec spec;
  if (o.route.size() > 5 && o.route.ends_with(".json")) spec = engine::load_route_file(o.route);
  else if (!o.route.empty()) spec = engine::parse_route_spec(o.route);
  if (!o.overrides.empty()) {
    const auto extra = engine::parse_overrides(o.overrides);
    spec.overrides.insert(spec.overrides.end(), extra.begin(), extra.end());  // later overrides win
  }
  if (!o.fa_kind.empty()) spec.fa_kind = engine::parse_attention_mode(o.fa_kind);
  if (!o.sa_kind.empty()) spec.sa_kind = engine::parse_attention_mode(o.sa_kind);
  if (!o.decode_mode.empty()) spec.decode = engine::parse_decode_mode(o.decode_mode);
  if (o.router_threshold >= 0.0f) spec.threshold = o.router_threshold;
  if (o.sink > 0) spec.sink = o.sink;
  if (o.window > 0) spec.window = o.window;
  if (o.n_last > 0) spec.n_last = o.n_last;
  if (o.block > 0) spec.block = o.block;
  if (o.stride > 0) spec.stride = o.stride;
  if (o.tau >= 0.0f) spec.tau = o.tau;
  return spec;
}

engine::EngineOptions engine_options(const ModelOptions& o, const RouteOptions* route) {
  engine::EngineOptions e;
  if (route != nullptr && route->router == "none") {
    e.default_router = false;
    e.checkpoint_router = false;
  } else if (route != nullptr) {
    e.router_path = route->router;
  }
  e.backend = o.backend;
  e.threads = o.threads;
  // More threads than cores only slows the run down, and OpenBLAS sizes per-thread buffers by the count (-t INT_MAX
  // hung in its allocator): clamp to the usable cores, saying so.
  if (const int cores = engine::usable_cpu_cores(); e.threads > cores) {
    spdlog::warn("--threads {}: only {} cores are usable here, using {}", e.threads, cores, cores);
    e.threads = cores;
  }
  e.context_length = o.context;
  e.random_weights = o.random_weights;
  e.random_seed = o.random_seed;
  e.cpu_weights = o.cpu_weights;
  e.random_quant = o.random_quant;
  return e;
}

}  // namespace flux::cli
