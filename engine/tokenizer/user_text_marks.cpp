#include "engine/tokenizer/user_text_marks.h"

#include "engine/tokenizer/tokenizer.h"

namespace flux::engine {
namespace {

constexpr std::string_view kMark = "\xEF\xB7\x90";  // U+FDD0: reserved for internal use, never a token spelling

}  // namespace

std::string mark_user_text(std::string_view text, const Tokenizer& tokenizer) {
  const std::vector<size_t> starts = tokenizer.control_starts(text);
  std::string out;
  out.reserve(text.size() + starts.size() * kMark.size());
  size_t next = 0;  // index into starts
  for (size_t i = 0; i < text.size();) {
    if (text.substr(i, kMark.size()) == kMark) {  // the user's own U+FDD0: doubled
      out += kMark;
      out += kMark;
      i += kMark.size();
      continue;
    }
    while (next < starts.size() && starts[next] < i) ++next;
    if (next < starts.size() && starts[next] == i) out += kMark;
    out += text[i++];
  }
  return out;
}

UnmarkedText unmark(std::string_view rendered) {
  UnmarkedText out;
  out.text.reserve(rendered.size());
  for (size_t i = 0; i < rendered.size();) {
    if (rendered.substr(i, kMark.size()) != kMark) {
      out.text += rendered[i++];
      continue;
    }
    i += kMark.size();
    if (rendered.substr(i, kMark.size()) == kMark) {  // a doubled mark: the user's U+FDD0
      out.text += kMark;
      i += kMark.size();
    } else if (out.literal_at.empty() || out.literal_at.back() != out.text.size()) {
      out.literal_at.push_back(out.text.size());
    }
  }
  return out;
}

}  // namespace flux::engine
