// fluxscope-cli: scripted runs, inspection and conversion over the same engine as the desktop app.
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "app/cli/commands.h"
#include "app/cli/terminal_text.h"
#include "engine/backend/cpu_threads.h"

int main(int argc, char** argv) {
  flux::engine::restart_with_short_openmp_spin(argv);  // before any OpenMP use (see cpu_threads.h)
  // stdout carries the generated text and tables; log lines go to stderr.
  spdlog::set_default_logger(spdlog::stderr_color_mt("fluxscope"));
  spdlog::set_level(spdlog::level::warn);
  CLI::App app{"FluxScope CLI — Flux Attention inference, inspection and conversion"};
  app.require_subcommand(1);
  app.option_defaults()->always_capture_default();  // every --help shows the defaults (subcommands inherit it)
  app.fallthrough();                                // -v and --log-file also after the subcommand
  int verbose = 0;
  std::string log_file;
  app.add_flag("-v,--verbose", verbose, "more log lines on stderr: -v info, -vv debug");
  app.add_option("--log-file", log_file, "also write every log line (debug and up) to this file");
  app.set_version_flag("--version", "fluxscope-cli 0.1.0");
  const std::vector<flux::cli::Command> commands = {
      flux::cli::add_generate_command(app), flux::cli::add_inspect_command(app),
      flux::cli::add_tokenize_command(app), flux::cli::add_convert_command(app), flux::cli::add_bench_command(app),
      flux::cli::add_sweep_command(app), flux::cli::add_perplexity_command(app)};
  CLI11_PARSE(app, argc, argv);
  spdlog::set_level(verbose >= 2 ? spdlog::level::debug : verbose == 1 ? spdlog::level::info : spdlog::level::warn);
  if (!log_file.empty()) {
    try {
      auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(log_file);
      file->set_level(spdlog::level::debug);
      spdlog::default_logger()->sinks()[0]->set_level(spdlog::get_level());
      spdlog::default_logger()->sinks().push_back(file);
      spdlog::set_level(spdlog::level::debug);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "error: --log-file %s: %s\n", log_file.c_str(), e.what());
      return 1;
    }
  }
  for (const auto& command : commands) {
    if (!command.app->parsed()) continue;
    try {
      return command.run();
    } catch (const std::bad_alloc&) {  // an allocation no size check foresaw: name the command, not "std::bad_alloc"
      std::fprintf(stderr, "error: %s: out of memory (an allocation failed; try a smaller -c, prompt or model)\n",
                   command.app->get_name().c_str());
      return 1;
    } catch (const std::exception& e) {  // flux::engine::Error carries a one-line, user-facing reason
      std::fprintf(stderr, "error: %s\n", flux::cli::printable(e.what()).c_str());  // names from files: escaped
      return 1;
    }
  }
  return 1;
}
