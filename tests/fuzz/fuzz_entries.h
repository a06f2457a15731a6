// The fuzzed entry points, shared by the libFuzzer targets (fuzz_main.cpp, FLUX_FUZZ=ON) and the replay test that
// runs the committed corpus and regression inputs in every normal and sanitizer build (fuzz_replay_test.cpp).
// Each entry feeds bytes to one parser the way a user's file reaches it (through a path when the API wants one).
// The contract checked: a flux::engine::Error is a clean rejection; any other exception, a crash, a sanitizer report
// or a leak is a bug.
#pragma once

#include <cstdint>
#include <ostream>
#include <span>
#include <string_view>
#include <vector>

namespace flux::fuzz {

using Bytes = std::span<const uint8_t>;

struct Target {
  std::string_view name;  // also the corpus / regression folder name
  void (*run)(Bytes data);
  std::size_t max_len;  // -max_len for tools/fuzz.sh: big inputs mostly retest the same code slower
};

// gtest prints a parameter with this (test names and failure messages show the target, not its bytes).
inline void PrintTo(const Target& t, std::ostream* os) {
  *os << t.name;
}

// Every target, in a fixed order.
const std::vector<Target>& targets();
const Target* find_target(std::string_view name);

}  // namespace flux::fuzz
