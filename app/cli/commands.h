// The CLI subcommands. Each registers its flags on a CLI11 subcommand and returns how to run it.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace flux::cli {

struct Command {
  CLI::App* app;             // the subcommand, to check whether it was given
  std::function<int()> run;  // exit status: 0 ok, 1 error, 130 cancelled
};

Command add_generate_command(CLI::App& app);
Command add_inspect_command(CLI::App& app);
Command add_tokenize_command(CLI::App& app);
Command add_convert_command(CLI::App& app);
Command add_bench_command(CLI::App& app);
Command add_sweep_command(CLI::App& app);
Command add_perplexity_command(CLI::App& app);

}  // namespace flux::cli
