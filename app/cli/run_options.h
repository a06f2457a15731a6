// llama.cpp-style flags shared by the CLI subcommands that run a model, and their translation into engine values.
#pragma once

#include <CLI/CLI.hpp>

#include <filesystem>
#include <string>

#include "engine/runtime/engine.h"

namespace flux::cli {

struct ModelOptions {
  std::string model;            // -m; empty = the embedded default model
  std::string backend = "auto";
  int threads = 0;
  int context = 0;
  std::string random_weights;  // --random-weights PRESET: no files, random bf16 weights of that shape
  uint64_t random_seed = 1;
  std::string cpu_weights = "auto";  // --weights auto|native|f32 (alias --cpu-weights)
  std::string random_quant;            // --random-quant TYPE
  int64_t prefill_chunk = 16384;  // prompt rows per prefill chunk (0 = the whole prompt at once)
};

struct PromptOptions {
  std::string prompt;           // -p
  std::string file;             // -f
  bool chat = false;
  std::string system_prompt;
};

struct RouteOptions {
  // --route: a preset (router, fa, sa, first-k:N, every-other), a route spec (engine/routing/route_spec.h grammar,
  // e.g. "router sa=triangle decode=reference") or FILE.json. Empty = the router when the model has one, else fa.
  std::string route;
  std::string overrides;
  std::string fa_kind, sa_kind;     // "" = the router's / checkpoint's
  std::string decode_mode;          // "" = the router's / checkpoint's (Flux checkpoints: reference)
  std::string router;               // --router FILE (our router format), or "none"
  float router_threshold = -1.0f;   // < 0 = the router's own threshold
  // 0 / < 0 = the router's value when a router is loaded, else ALGORITHMS.md defaults.
  int sink = 0, window = 0, n_last = 0, block = 0, stride = 0;
  float tau = -1.0f;                // XAttention mass threshold
};
void add_model_options(CLI::App& app, ModelOptions& o);
void add_prompt_options(CLI::App& app, PromptOptions& o);
void add_route_options(CLI::App& app, RouteOptions& o);

// The embedded default model: $FLUXSCOPE_MODEL, else models/SmolLM2-135M-Instruct.Q4_1.gguf in the working
// directory or the source tree.
std::filesystem::path resolve_model_path(const std::string& given);
// The path Engine::load gets: empty with --random-weights (throws Error when -m is given too), else
// resolve_model_path(-m).
std::filesystem::path model_path(const ModelOptions& o);
std::string read_prompt(const PromptOptions& o);  // -p text or -f file contents; throws Error on a bad file
// The one translation of the routing flags into the engine's RouteSpec: --route (preset, spec text or file) first,
// then each flag given on the command line replaces that field.
engine::RouteSpec route_spec(const RouteOptions& o);
engine::EngineOptions engine_options(const ModelOptions& o, const RouteOptions* route = nullptr);

}  // namespace flux::cli
