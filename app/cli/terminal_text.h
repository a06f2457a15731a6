// Text from model files (GGUF metadata, names, paths) reaches the terminal escaped: a raw ESC would let a file
// drive the terminal (colours, cursor, title), a newline would forge output lines.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace flux::cli {

// C0 controls and DEL as \n, \t, \r or \xNN; everything else (UTF-8 included) unchanged.
inline std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += ch;
  }
  return out;
}

}  // namespace flux::cli
