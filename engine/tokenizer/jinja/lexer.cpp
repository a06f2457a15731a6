#include "engine/tokenizer/jinja/lexer.h"

#include <algorithm>
#include <cctype>

#include "engine/core/error.h"

namespace flux::engine::jinja {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// jinja2 turns every \r\n and \r into \n and drops one trailing newline (keep_trailing_newline=False).
std::string normalize_newlines(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  Lexer(std::string source, const LexOptions& options) : src_(std::move(source)), options_(options) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> run() {
    size_t pos = 0;
    while (pos < src_.size()) {
      const size_t open = find_tag(pos);
      std::string text = src_.substr(pos, open - pos);
      if (open == src_.size()) {
        emit_text(std::move(text), pos);
        break;
      }
      const char kind = src_[open + 1];
      const char modifier = open + 2 < src_.size() ? src_[open + 2] : '\0';
      if (modifier == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (modifier != '+' && options_.lstrip_blocks && kind != '{') {
        lstrip_line(text, pos);
      }
      emit_text(std::move(text), pos);
      size_t p = open + 2 + ((modifier == '-' || modifier == '+') ? 1 : 0);
      if (kind == '#') {
        pos = skip_comment(open, p);
      } else {
        pos = lex_tag(kind == '{', open, p);
      }
    }
    tokens_.push_back({TokenKind::End, "", line_of(src_.size()), column_of(src_.size())});
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  // lstrip_blocks: spaces before a tag that starts its line go.
  void lstrip_line(std::string& text, size_t text_start) const {
    const size_t nl = text.rfind('\n');
    const size_t line_pos = nl == std::string::npos ? 0 : nl + 1;
    const bool line_starting = text_start == 0 || src_[text_start - 1] == '\n';
    if (line_pos == 0 && !line_starting) return;
    if (line_pos == text.size()) return;
    for (size_t i = line_pos; i < text.size(); ++i) {
      if (!is_space(text[i])) return;
    }
    text.resize(line_pos);
  }

  void emit_text(std::string text, size_t at) {
    if (!text.empty()) tokens_.push_back({TokenKind::Text, std::move(text), line_of(at), column_of(at)});
  }

  size_t skip_comment(size_t open, size_t p) {
    const size_t close = src_.find("#}", p);
    if (close == std::string::npos) error(open, "unterminated comment: '{#' without '#}'");
    size_t pos = close + 2;
    if (close > p && src_[close - 1] == '-') {
      while (pos < src_.size() && is_space(src_[pos])) ++pos;
    } else if (options_.trim_blocks && pos < src_.size() && src_[pos] == '\n') {
      ++pos;
    }
    return pos;
  }

  // Lexes `{{ ... }}` or `{% ... %}` from just after the opening delimiter; returns the position after the tag.
  size_t lex_tag(bool variable, size_t open, size_t p) {
    tokens_.push_back({variable ? TokenKind::VarBegin : TokenKind::BlockBegin, "", line_of(open), column_of(open)});
    const std::string close = variable ? "}}" : "%}";
    int depth = 0;  // open brackets: a `}}` inside a dict literal does not end the tag
    while (true) {
      while (p < src_.size() && is_space(src_[p])) ++p;
      if (p >= src_.size()) error(open, variable ? "unterminated '{{': no '}}'" : "unterminated '{%': no '%}'");
      if (depth == 0) {
        const bool strip = src_.compare(p, 1 + close.size(), "-" + close) == 0;
        const bool keep = !variable && src_.compare(p, 3, "+%}") == 0;
        if (strip || keep || src_.compare(p, close.size(), close) == 0) {
          tokens_.push_back({variable ? TokenKind::VarEnd : TokenKind::BlockEnd, "", line_of(p), column_of(p)});
          p += close.size() + ((strip || keep) ? 1 : 0);
          if (strip) {
            while (p < src_.size() && is_space(src_[p])) ++p;
          } else if (!variable && !keep && options_.trim_blocks && p < src_.size() && src_[p] == '\n') {
            ++p;
          }
          return p;
        }
      }
      p = lex_expression_token(p, depth);
    }
  }

  size_t lex_expression_token(size_t p, int& depth) {
    const char c = src_[p];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t e = p;
      while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
      push(TokenKind::Name, src_.substr(p, e - p), p);
      return e;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return lex_number(p);
    if (c == '\'' || c == '"') return lex_string(p);
    static const char* const two_char[] = {"//", "**", "==", "!=", ">=", "<="};
    for (const char* op : two_char) {
      if (src_.compare(p, 2, op) == 0) {
        push(TokenKind::Operator, op, p);
        return p + 2;
      }
    }
    if (std::string_view("+-*/%~<>=()[]{},.:|").find(c) == std::string_view::npos) {
      error(p, fmt::format("unexpected character '{}' in a tag", c));
    }
    if (c == '(' || c == '[' || c == '{') ++depth;
    if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
    push(TokenKind::Operator, std::string(1, c), p);
    return p + 1;
  }

  size_t lex_number(size_t p) {
    const auto digits = [&](size_t at) {
      while (at < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[at])) || src_[at] == '_')) ++at;
      return at;
    };
    size_t e = digits(p);
    bool is_float = false;
    // After a '.', `x.0.1` is two subscripts, not a float (jinja2's lookbehind).
    const bool after_dot = !tokens_.empty() && tokens_.back().kind == TokenKind::Operator && tokens_.back().text == ".";
    if (!after_dot && e + 1 < src_.size() && src_[e] == '.' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) {
      e = digits(e + 1);
      is_float = true;
    }
    if (!after_dot && e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t x = e + 1;
      if (x < src_.size() && (src_[x] == '+' || src_[x] == '-')) ++x;
      if (x < src_.size() && std::isdigit(static_cast<unsigned char>(src_[x]))) {
        e = digits(x);
        is_float = true;
      }
    }
    std::string text;
    for (size_t i = p; i < e; ++i) {
      if (src_[i] != '_') text += src_[i];
    }
    push(is_float ? TokenKind::Float : TokenKind::Integer, std::move(text), p);
    return e;
  }

  // Python unicode-escape decoding, as jinja2 applies to string literals; unknown escapes stay as written.
  size_t lex_string(size_t p) {
    const char quote = src_[p];
    std::string value;
    size_t i = p + 1;
    while (true) {
      if (i >= src_.size()) error(p, "unterminated string literal");
      const char c = src_[i];
      if (c == quote) break;
      if (c != '\\') {
        value += c;
        ++i;
        continue;
      }
      if (i + 1 >= src_.size()) error(p, "unterminated string literal");
      const char e = src_[i + 1];
      i += 2;
      switch (e) {
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'a':
          value += '\a';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case 'v':
          value += '\v';
          break;
        case '\\':
          value += '\\';
          break;
        case '\'':
          value += '\'';
          break;
        case '"':
          value += '"';
          break;
        case '\n':
          break;
        case 'x':
        case 'u':
        case 'U': {
          const size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (i + n > src_.size()) error(i - 2, "truncated \\x/\\u escape in a string literal");
          uint32_t cp = 0;
          for (size_t k = 0; k < n; ++k) {
            const char h = src_[i + k];
            if (!std::isxdigit(static_cast<unsigned char>(h))) error(i - 2, "bad \\x/\\u escape in a string literal");
            cp = cp * 16 + static_cast<uint32_t>(
                               std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
          }
          if (cp > 0x10FFFF) error(i - 2, "escape beyond U+10FFFF in a string literal");
          append_utf8(cp, value);
          i += n;
          break;
        }
        default:
          if (e >= '0' && e <= '7') {
            uint32_t cp = static_cast<uint32_t>(e - '0');
            for (int k = 0; k < 2 && i < src_.size() && src_[i] >= '0' && src_[i] <= '7'; ++k) {
              cp = cp * 8 + static_cast<uint32_t>(src_[i++] - '0');
            }
            append_utf8(cp, value);
          } else {
            value += '\\';
            value += e;
          }
      }
    }
    push(TokenKind::String, std::move(value), p);
    return i + 1;
  }

  void push(TokenKind kind, std::string text, size_t at) {
    tokens_.push_back({kind, std::move(text), line_of(at), column_of(at)});
  }

  int line_of(size_t at) const {
    return static_cast<int>(std::upper_bound(line_starts_.begin(), line_starts_.end(), at) - line_starts_.begin());
  }
  int column_of(size_t at) const {
    return static_cast<int>(at - line_starts_[static_cast<size_t>(line_of(at) - 1)]) + 1;
  }

  [[noreturn]] void error(size_t at, const std::string& message) const {
    fail("template:{}:{}: {}", line_of(at), column_of(at), message);
  }

  std::string src_;
  LexOptions options_;
  std::vector<Token> tokens_;
  std::vector<size_t> line_starts_;  // offset of each line's first character
};

}  // namespace

std::vector<Token> tokenize(const std::string& source, const LexOptions& options) {
  return Lexer(normalize_newlines(source), options).run();
}

}  // namespace flux::engine::jinja
