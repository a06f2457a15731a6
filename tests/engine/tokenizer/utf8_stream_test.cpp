#include "engine/tokenizer/utf8_stream.h"

#include <gtest/gtest.h>

using namespace flux::engine;

namespace {
const std::string kFffd = "\xEF\xBF\xBD";
}

TEST(Utf8Stream, PassesAsciiThrough) {
  Utf8StreamDecoder d;
  EXPECT_EQ(d.push("hello"), "hello");
  EXPECT_EQ(d.flush(), "");
}

TEST(Utf8Stream, HoldsBackSplitMultiByteSequences) {
  const std::string emoji = "\xF0\x9F\xA4\x97";  // U+1F917
  for (size_t cut = 1; cut < emoji.size(); ++cut) {
    Utf8StreamDecoder d;
    std::string head = "a";
    head.append(emoji, 0, cut);  // appended, not operator+: GCC 12 warns falsely (-Wrestrict) on "a" + substr
    EXPECT_EQ(d.push(head), "a") << cut;
    EXPECT_EQ(d.pending(), cut);
    EXPECT_EQ(d.push(emoji.substr(cut) + "b"), emoji + "b") << cut;
    EXPECT_EQ(d.flush(), "");
  }
}

TEST(Utf8Stream, ByteByByteReassemblesText) {
  const std::string text = "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD!";
  Utf8StreamDecoder d;
  std::string out;
  for (const char c : text) out += d.push(std::string_view(&c, 1));
  out += d.flush();
  EXPECT_EQ(out, text);
}

TEST(Utf8Stream, InvalidBytesBecomeReplacementCharacters) {
  Utf8StreamDecoder d;
  EXPECT_EQ(d.push("a\xFF" "b"), "a" + kFffd + "b");
  EXPECT_EQ(d.push("\x80"), kFffd);                       // lone continuation byte
  EXPECT_EQ(d.push("\xC0\xAF"), kFffd + kFffd);           // overlong lead bytes are never valid
  EXPECT_EQ(d.push("\xE2\x82" "A"), kFffd + "A");         // truncated sequence: one U+FFFD for the subpart
  EXPECT_EQ(d.push("\xED\xA0\x80"), kFffd + kFffd + kFffd);  // surrogates are invalid
  EXPECT_EQ(d.push("\xE2\x82"), "");
  EXPECT_EQ(d.flush(), kFffd);  // an incomplete tail at the end
  EXPECT_EQ(d.pending(), 0u);
}

TEST(Utf8Stream, SanitizeReplacesOnlyInvalidParts) {
  EXPECT_EQ(sanitize_utf8("ok \xC3\xA9"), "ok \xC3\xA9");
  EXPECT_EQ(sanitize_utf8("x\xC3"), "x" + kFffd);
  EXPECT_EQ(sanitize_utf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // above U+10FFFF
}
