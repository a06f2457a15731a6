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
  int64_t prefill_chunk = 16384;  // prompt rows per prefill chunk (0 = the whole prompt at once)
};

struct PromptOptions {
  std::string prompt;           // -p
  std::string file;             // -f
  bool chat = false;
  std::string system_prompt;
};

struct RouteOptions {
  // "" = "router" when the model has a router, else "fa"; or router, fa, sa, first-k:N, every-other, FILE.json.
  std::string route;
  std::string overrides;
  std::string sa_kind;  // "" = the router's SA kind, else streaming
  std::string router;   // --router FILE (our router format)
  float router_threshold = -1.0f;  // < 0 = the router's own threshold
  // 0 = the router's value when a router is loaded, else 128 / 1024 / 128 (ALGORITHMS.md defaults).
  int sink = 0, window = 0, n_last = 0, block = 128, stride = 16;
  float threshold = 0.9f;
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
// router: the loaded model's Layer Router, or null.
engine::RoutingPlan make_plan(const RouteOptions& o, int n_layers, const engine::LayerRouter* router = nullptr);
// The preset name make_plan uses ("router" / "fa" when --route was not given).
std::string effective_route(const RouteOptions& o, const engine::LayerRouter* router);
engine::EngineOptions engine_options(const ModelOptions& o, const RouteOptions* route = nullptr);

}  // namespace flux::cli
