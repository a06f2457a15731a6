// The syntax tree of a parsed template: expressions and statements, each with the line:column it came from so that
// render errors point at the template text.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/tokenizer/jinja/value.h"

namespace flux::engine::jinja {

enum class ExprKind {
  Literal,      // literal
  Name,         // name
  ListLiteral,  // kids: items (tuples are lists too)
  DictLiteral,  // kids: key0, value0, key1, value1, ...
  Attr,         // kids[0].name
  Subscript,    // kids[0][kids[1]]
  Slice,        // kids[0][kids[1]:kids[2]:kids[3]], absent parts null
  Call,         // kids[0](kids[1..]): the last keywords.size() kids are keyword arguments
  Filter,       // kids[0] | name(kids[1..]), keywords as for Call
  Test,         // kids[0] is [not] name(kids[1..]), keywords as for Call
  Neg,          // -kids[0]
  Pos,          // +kids[0]
  Not,          // not kids[0]
  And,          // kids[0] and kids[1]
  Or,           // kids[0] or kids[1]
  Binary,       // kids[0] name kids[1], name one of + - * / // % **
  Compare,      // kids[0] ops[0] kids[1] ops[1] kids[2] ... (chained as in Python)
  Concat,       // kids[0] ~ kids[1] ~ ...
  Cond,         // kids[0] if kids[1] else kids[2] (kids[2] null: undefined)
};

struct Expr {
  ExprKind kind = ExprKind::Literal;
  int line = 0, column = 0;
  Value literal;
  std::string name;
  std::vector<std::unique_ptr<Expr>> kids;
  std::vector<std::string> keywords;
  std::vector<std::string> ops;
  bool negated = false;
};
using ExprPtr = std::unique_ptr<Expr>;

enum class NodeKind {
  Text,       // text
  Output,     // {{ exprs[0] }}
  If,         // exprs[i] guards bodies[i]; a last extra body is the else
  For,        // for names in exprs[0] [if exprs[1]]: bodies[0], else bodies[1]
  Set,        // set names = exprs[0]; with attr: set names[0].attr = exprs[0]
  SetBlock,   // set names[0] %}bodies[0]{% endset
  Macro,      // macro text(names with defaults exprs, null where none): bodies[0]
  CallBlock,  // call(names) exprs[0] %}bodies[0]{% endcall: the body is `caller()` inside the macro
  Break,
  Continue,
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
  NodeKind kind = NodeKind::Text;
  int line = 0, column = 0;
  std::string text;
  std::string attr;
  std::vector<std::string> names;
  std::vector<ExprPtr> exprs;
  std::vector<Body> bodies;
};

}  // namespace flux::engine::jinja
