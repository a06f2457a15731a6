// The GPT-2 byte <-> unicode alphabet of byte-level BPE: every byte maps to one printable code point, so BPE pieces are
// valid text in tokenizer files while still covering arbitrary bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace flux::engine {

// The code point that byte `b` is written as in byte-level BPE pieces (printable Latin-1 maps to itself).
char32_t byte_to_code_point(uint8_t b);

// The byte a code point of the GPT-2 alphabet stands for, or -1 when the code point is not in the alphabet.
int code_point_to_byte(char32_t cp);

// Maps every byte of `bytes` to its code point, UTF-8 encoded: the form BPE pieces are stored in.
std::string bytes_to_unicode(std::string_view bytes);

// Reverses bytes_to_unicode. Characters outside the alphabet (e.g. in added tokens) are copied through unchanged,
// as HF's ByteLevel decoder does.
std::string unicode_to_bytes(std::string_view text);

}  // namespace flux::engine
