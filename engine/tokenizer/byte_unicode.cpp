#include "engine/tokenizer/byte_unicode.h"

#include <array>

namespace flux::engine {
namespace {

struct ByteTables {
  std::array<char32_t, 256> to_cp{};
  std::array<std::string, 256> to_utf8{};
};

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// GPT-2's bytes_to_unicode(): printable ranges '!'..'~', '¡'..'¬', '®'..'ÿ' keep their value, the other bytes take
// U+0100 upward in byte order.
const ByteTables& tables() {
  static const ByteTables t = [] {
    ByteTables r;
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      r.to_cp[b] = printable ? static_cast<char32_t>(b) : next++;
      append_utf8(r.to_utf8[b], r.to_cp[b]);
    }
    return r;
  }();
  return t;
}

// Decodes one UTF-8 sequence at text[i]; returns its code point (or -1 if malformed) and advances i.
int32_t next_code_point(std::string_view text, size_t& i) {
  const auto c = static_cast<uint8_t>(text[i]);
  const int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + static_cast<size_t>(len) > text.size()) {
    ++i;
    return -1;
  }
  int32_t cp = len == 1 ? c : c & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    const auto cc = static_cast<uint8_t>(text[i + static_cast<size_t>(k)]);
    if ((cc & 0xC0) != 0x80) {
      ++i;
      return -1;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += static_cast<size_t>(len);
  return cp;
}

}  // namespace

char32_t byte_to_code_point(uint8_t b) { return tables().to_cp[b]; }

int code_point_to_byte(char32_t cp) {
  if (cp < 256) {
    const bool printable = (cp >= '!' && cp <= '~') || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE);
    if (printable) return static_cast<int>(cp);
  }
  static const std::array<int16_t, 324> shifted = [] {
    std::array<int16_t, 324> r{};
    r.fill(-1);
    for (int b = 0; b < 256; ++b) {
      const char32_t c = tables().to_cp[b];
      if (c >= 256) r[c - 256] = static_cast<int16_t>(b);
    }
    return r;
  }();
  if (cp >= 256 && cp < 256 + shifted.size()) return shifted[cp - 256];
  return -1;
}

std::string bytes_to_unicode(std::string_view bytes) {
  const auto& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) out += t.to_utf8[static_cast<uint8_t>(c)];
  return out;
}

std::string unicode_to_bytes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    const int32_t cp = next_code_point(text, i);
    const int b = cp < 0 ? -1 : code_point_to_byte(static_cast<char32_t>(cp));
    if (b >= 0) {
      out.push_back(static_cast<char>(b));
    } else {
      out.append(text.substr(start, i - start));
    }
  }
  return out;
}

}  // namespace flux::engine
