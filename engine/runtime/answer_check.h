// The one scoring rule of needle and retrieval tasks, shared by the CLI's `sweep` and the app's needle grid:
// a generated text is correct iff it contains the expected answer (every one of them, for multi-value tasks), both
// lower-cased (ASCII) and trimmed.
#pragma once

#include <cctype>
#include <string>
#include <vector>

namespace flux::engine {

inline std::string lower_trimmed(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

inline bool answer_in_output(const std::string& output, const std::string& answer) {
  return lower_trimmed(output).find(lower_trimmed(answer)) != std::string::npos;
}

inline bool answers_in_output(const std::string& output, const std::vector<std::string>& answers) {
  for (const std::string& a : answers)
    if (!answer_in_output(output, a)) return false;
  return !answers.empty();
}

}  // namespace flux::engine
