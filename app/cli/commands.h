// The CLI subcommands. Each registers its flags on a CLI11 subcommand and returns an exit status when run.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace flux::cli {

// Registers a subcommand; the returned function runs it after parsing (exit status: 0 ok, 1 error, 130 cancelled).
using CommandRunner = std::function<int()>;

CommandRunner add_generate_command(CLI::App& app);
CommandRunner add_inspect_command(CLI::App& app);
CommandRunner add_tokenize_command(CLI::App& app);
CommandRunner add_convert_command(CLI::App& app);

}  // namespace flux::cli
