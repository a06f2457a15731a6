// Range checks for numeric flags whose messages name the bound in words: CLI11's NonNegativeNumber and
// PositiveNumber print "not in range 0.000000 to 1797693…" (DBL_MAX written out in full).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace flux::cli {

// value >= 0 ("-5 is negative (give 0 or more)"); the option's own type still rejects what does not convert.
inline CLI::Validator non_negative() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v)) return text + " is not a number";
        return v >= 0 ? std::string() : text + " is negative (give 0 or more)";
      },
      ">= 0", "non-negative");
}

// value > 0 ("0 is not positive (give a value above 0)").
inline CLI::Validator positive() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(text, v)) return text + " is not a number";
        return v > 0 ? std::string() : text + " is not positive (give a value above 0)";
      },
      "> 0", "positive");
}

}  // namespace flux::cli
