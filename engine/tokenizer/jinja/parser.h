// Builds the syntax tree from the lexer's tokens, following jinja2's grammar and operator precedence.
#pragma once

#include <vector>

#include "engine/tokenizer/jinja/ast.h"
#include "engine/tokenizer/jinja/lexer.h"

namespace flux::engine::jinja {

// Throws Error "template:LINE:COLUMN: ..." on a syntax error, an unknown tag, a missing end tag, or nesting deeper than
// `max_depth` (which bounds the recursion of parsing and of rendering alike).
Body parse(const std::vector<Token>& tokens, int max_depth = 100);

}  // namespace flux::engine::jinja
