#include "engine/tokenizer/utf8_stream.h"

#include <cstdint>

namespace flux::engine {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the valid prefix of the sequence at s[0..n): returns {consumed, complete}. consumed == 0 means s[0] is
// not a valid lead byte; complete == false with consumed == n means the sequence may still be completed.
struct Scan {
  size_t consumed;
  bool complete;
};

Scan scan_sequence(const uint8_t* s, size_t n) {
  const uint8_t c = s[0];
  if (c < 0x80) return {1, true};
  size_t len = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte, Unicode Table 3-7
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return {0, true};
  }
  for (size_t k = 1; k < len; ++k) {
    if (k >= n) return {k, false};
    const uint8_t cc = s[k];
    const bool ok = k == 1 ? (cc >= lo && cc <= hi) : (cc >= 0x80 && cc <= 0xBF);
    if (!ok) return {k, true};  // a broken sequence of k bytes: one U+FFFD for the subpart
  }
  return {len, true};
}

// Decodes `bytes`; when `hold_tail`, an incomplete sequence at the end is returned in `tail` instead of replaced.
std::string decode(std::string_view bytes, bool hold_tail, std::string* tail) {
  std::string out;
  out.reserve(bytes.size());
  const auto* s = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t i = 0;
  while (i < bytes.size()) {
    const Scan sc = scan_sequence(s + i, bytes.size() - i);
    if (sc.consumed == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (!sc.complete && hold_tail) {
      *tail = std::string(bytes.substr(i));
      return out;
    }
    const bool valid = sc.complete && (s[i] < 0x80 || sc.consumed >= 2) &&
                       sc.consumed == (s[i] < 0x80 ? 1u : s[i] < 0xE0 ? 2u : s[i] < 0xF0 ? 3u : 4u);
    if (valid) {
      out.append(bytes.substr(i, sc.consumed));
    } else {
      out += kReplacement;
    }
    i += sc.consumed;
  }
  return out;
}

}  // namespace

std::string Utf8StreamDecoder::push(std::string_view bytes) {
  std::string buffer = std::move(pending_);
  pending_.clear();
  buffer.append(bytes);
  return decode(buffer, true, &pending_);
}

std::string Utf8StreamDecoder::flush() {
  std::string out = decode(pending_, false, nullptr);
  pending_.clear();
  return out;
}

std::string sanitize_utf8(std::string_view bytes) { return decode(bytes, false, nullptr); }

}  // namespace flux::engine
