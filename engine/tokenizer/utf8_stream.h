// Streaming UTF-8 repair for detokenized output: tokens may end inside a multi-byte character, so the incomplete tail
// is held back until the next bytes arrive; bytes that can never form a character become U+FFFD.
#pragma once

#include <string>
#include <string_view>

namespace flux::engine {

class Utf8StreamDecoder {
 public:
  // Appends bytes and returns the longest valid UTF-8 text that is complete so far.
  std::string push(std::string_view bytes);
  // Returns what is held back (an incomplete sequence becomes U+FFFD) and resets the decoder.
  std::string flush();
  // Bytes currently held back (0..3).
  size_t pending() const { return pending_.size(); }

 private:
  std::string pending_;
};

// Replaces every maximal invalid subsequence of `bytes` by U+FFFD (the WHATWG/Unicode "maximal subpart" practice).
std::string sanitize_utf8(std::string_view bytes);

}  // namespace flux::engine
