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
};

struct PromptOptions {
  std::string prompt;           // -p
  std::string file;             // -f
  bool chat = false;
  std::string system_prompt;
};

struct RouteOptions {
  std::string route = "fa";
  std::string overrides;
  std::string sa_kind = "streaming";
  int sink = 128, window = 1024, n_last = 128, block = 128, stride = 16;
  float threshold = 0.9f;
};

void add_model_options(CLI::App& app, ModelOptions& o);
void add_prompt_options(CLI::App& app, PromptOptions& o);
void add_route_options(CLI::App& app, RouteOptions& o);

// The embedded default model: $FLUXSCOPE_MODEL, else models/SmolLM2-135M-Instruct.Q4_1.gguf in the working
// directory or the source tree.
std::filesystem::path resolve_model_path(const std::string& given);
std::string read_prompt(const PromptOptions& o);  // -p text or -f file contents; throws Error on a bad file
engine::RoutingPlan make_plan(const RouteOptions& o, int n_layers);
engine::EngineOptions engine_options(const ModelOptions& o);

}  // namespace flux::cli
