#include "engine/tokenizer/byte_unicode.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

using namespace flux::engine;

TEST(ByteUnicode, MapIsABijectionOntoPrintableCodePoints) {
  std::set<char32_t> seen;
  for (int b = 0; b < 256; ++b) {
    const char32_t cp = byte_to_code_point(static_cast<uint8_t>(b));
    EXPECT_TRUE(seen.insert(cp).second) << b;
    EXPECT_EQ(code_point_to_byte(cp), b);
  }
  EXPECT_EQ(byte_to_code_point(' '), U'\u0120');   // the "Ġ" of GPT-2 pieces
  EXPECT_EQ(byte_to_code_point('\n'), U'\u010A');  // "Ċ"
  EXPECT_EQ(byte_to_code_point('A'), U'A');
  EXPECT_EQ(byte_to_code_point(0xAD), U'\u0143');  // soft hyphen is not printable
  EXPECT_EQ(code_point_to_byte(U'\u4E00'), -1);
}

TEST(ByteUnicode, RoundTripsEveryByteString) {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  const std::string mapped = bytes_to_unicode(all);
  EXPECT_EQ(unicode_to_bytes(mapped), all);
  EXPECT_EQ(bytes_to_unicode(" hello\n"), "\xC4\xA0hello\xC4\x8A");
  EXPECT_EQ(bytes_to_unicode("\xC3\xA9"), "\xC3\x83\xC2\xA9");  // "é" -> "Ã©"
}

TEST(ByteUnicode, CharactersOutsideTheAlphabetPassThrough) {
  EXPECT_EQ(unicode_to_bytes("<|im_start|>"), "<|im_start|>");
  EXPECT_EQ(unicode_to_bytes("\xE4\xB8\x80"), "\xE4\xB8\x80");  // U+4E00 is not a byte code point
}
