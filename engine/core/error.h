// The one error mechanism of the engine: a typed exception whose message names the file, tensor or parameter at
// fault, thrown inside the engine and caught at the API edges (CLI main, EngineWorker).
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace flux::engine {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A request the engine cannot serve because of the input, not a bug: throw Error with a formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

// Checks a condition on user-supplied data; on failure throws Error with the formatted message.
template <typename... Args>
void require(bool condition, fmt::format_string<Args...> format, Args&&... args) {
  if (!condition) throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace flux::engine
