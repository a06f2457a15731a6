// The user's text inside a rendered chat prompt, kept apart from the template's: with parse_special off, a
// "<|im_start|>" the user typed or pasted must stay text while the template's own "<|im_start|>" stays a control
// token. The user's text is marked before the template renders it — a mark (U+FDD0, a Unicode noncharacter) before
// each control-token spelling in it — so the marks travel through whatever the template does with the text (trim,
// concatenation); unmark() takes them off again and returns where they stood, the offsets Tokenizer::encode must not
// read as control tokens.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace flux::engine {

class Tokenizer;

struct UnmarkedText {
  std::string text;                // the rendered prompt without marks, as the report's rendered_prompt shows it
  std::vector<size_t> literal_at;  // sorted byte offsets in `text` where a control spelling is the user's text
};

// `text` with a mark before every control-token spelling of `tokenizer` (a U+FDD0 already in the text is doubled,
// so it comes back as itself).
std::string mark_user_text(std::string_view text, const Tokenizer& tokenizer);

// `rendered` with the marks of mark_user_text taken off.
UnmarkedText unmark(std::string_view rendered);

}  // namespace flux::engine
