// Splits a Jinja template into tokens the way jinja2's lexer does with transformers' settings: text between tags
// (after `-` whitespace control, trim_blocks and lstrip_blocks), tag delimiters, and the tokens of expressions.
#pragma once

#include <string>
#include <vector>

namespace flux::engine::jinja {

enum class TokenKind {
  Text,        // literal template text
  VarBegin,    // {{
  VarEnd,      // }}
  BlockBegin,  // {%
  BlockEnd,    // %}
  Name,        // identifiers and keywords (if, for, and, not, true, none, ...)
  String,      // a string literal, escapes already decoded
  Integer,
  Float,
  Operator,  // + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |
  End,
};

struct Token {
  TokenKind kind;
  std::string text;  // the value for Text/Name/String/Operator, the digits for numbers
  int line = 1, column = 1;
};

struct LexOptions {
  bool trim_blocks = true;    // drop the first newline after a block tag or comment
  bool lstrip_blocks = true;  // drop spaces and tabs before a block tag or comment at the start of a line
};

// Throws Error "template:LINE:COLUMN: ..." on an unterminated tag, comment or string, or an unknown character.
std::vector<Token> tokenize(const std::string& source, const LexOptions& options = {});

}  // namespace flux::engine::jinja
