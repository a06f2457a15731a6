// fluxscope-cli: scripted runs, inspection and conversion over the same engine as the desktop app.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <vector>

#include "app/cli/commands.h"
#include "engine/backend/cpu_threads.h"

int main(int argc, char** argv) {
  flux::engine::restart_with_passive_openmp(argv);  // before any OpenMP use (see cpu_threads.h)
  // stdout carries the generated text and tables; log lines go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("fluxscope"));
  spdlog::set_level(spdlog::level::warn);
  CLI::App app{"FluxScope CLI — Flux Attention inference, inspection and conversion"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "fluxscope-cli 0.1.0");
  const std::vector<flux::cli::Command> commands = {
      flux::cli::add_generate_command(app), flux::cli::add_inspect_command(app),
      flux::cli::add_tokenize_command(app), flux::cli::add_convert_command(app), flux::cli::add_bench_command(app),
      flux::cli::add_sweep_command(app), flux::cli::add_perplexity_command(app)};
  CLI11_PARSE(app, argc, argv);
  try {
    for (const auto& command : commands)
      if (command.app->parsed()) return command.run();
  } catch (const std::exception& e) {  // flux::engine::Error carries a one-line, user-facing reason
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 1;
}
