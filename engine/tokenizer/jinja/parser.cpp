#include "engine/tokenizer/jinja/parser.h"

#include <charconv>
#include <initializer_list>

#include "engine/core/error.h"

namespace flux::engine::jinja {
namespace {

class Parser {
 public:
  Parser(const std::vector<Token>& tokens, int max_depth) : tokens_(tokens), max_depth_(max_depth) {}

  Body parse_template() {
    std::string end;
    Body body = parse_body({}, end);
    return body;
  }

 private:
  // ---- statements ----

  // Parses until `{% <one of ends> %}` (consuming the name, not the rest of the tag) or the end of input.
  Body parse_body(std::initializer_list<const char*> ends, std::string& found) {
    Guard guard(*this);
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.kind == TokenKind::End) {
        if (ends.size() != 0)
          error(t, fmt::format("missing '{{% {} %}}' before the end of the template", *ends.begin()));
        return body;
      }
      if (t.kind == TokenKind::Text) {
        body.push_back(node(NodeKind::Text, next()));
        body.back()->text = t.text;
      } else if (t.kind == TokenKind::VarBegin) {
        NodePtr n = node(NodeKind::Output, next());
        n->exprs.push_back(parse_expression());
        expect_kind(TokenKind::VarEnd, "'}}'");
        body.push_back(std::move(n));
      } else if (t.kind == TokenKind::BlockBegin) {
        const Token& begin = next();
        const Token& name = expect_kind(TokenKind::Name, "a tag name");
        for (const char* end : ends) {
          if (name.text == end) {
            found = name.text;
            return body;
          }
        }
        NodePtr statement = parse_statement(begin, name);
        if (statement) body.push_back(std::move(statement));
      } else {
        error(t, "unexpected token");
      }
    }
  }

  NodePtr parse_statement(const Token& begin, const Token& name) {
    const std::string& tag = name.text;
    if (tag == "if") return parse_if(begin);
    if (tag == "for") return parse_for(begin);
    if (tag == "set") return parse_set(begin);
    if (tag == "macro") return parse_macro(begin);
    if (tag == "call") return parse_call_block(begin);
    if (tag == "break" || tag == "continue") {
      expect_kind(TokenKind::BlockEnd, "'%}'");
      return node(tag == "break" ? NodeKind::Break : NodeKind::Continue, begin);
    }
    if (tag == "generation") {  // transformers' assistant-mask marker: renders its body unchanged
      expect_kind(TokenKind::BlockEnd, "'%}'");
      std::string found;
      Body body = parse_body({"endgeneration"}, found);
      expect_kind(TokenKind::BlockEnd, "'%}'");
      NodePtr n = node(NodeKind::If, begin);
      n->exprs.push_back(literal(Value(true), begin));
      n->bodies.push_back(std::move(body));
      return n;
    }
    error(name, fmt::format("unknown tag '{}'", tag));
  }

  NodePtr parse_if(const Token& begin) {
    NodePtr n = node(NodeKind::If, begin);
    n->exprs.push_back(parse_expression());
    expect_kind(TokenKind::BlockEnd, "'%}'");
    while (true) {
      std::string found;
      n->bodies.push_back(parse_body({"endif", "elif", "else"}, found));
      if (found == "elif") {
        n->exprs.push_back(parse_expression());
        expect_kind(TokenKind::BlockEnd, "'%}'");
      } else if (found == "else") {
        expect_kind(TokenKind::BlockEnd, "'%}'");
        n->bodies.push_back(parse_body({"endif"}, found));
        expect_kind(TokenKind::BlockEnd, "'%}'");
        return n;
      } else {
        expect_kind(TokenKind::BlockEnd, "'%}'");
        return n;
      }
    }
  }

  NodePtr parse_for(const Token& begin) {
    NodePtr n = node(NodeKind::For, begin);
    n->names = parse_targets();
    expect_name("in");
    n->exprs.push_back(parse_or());
    if (accept_name("if")) {
      n->exprs.push_back(parse_expression());
    }
    if (accept_name("recursive")) error(peek(), "recursive for loops are not supported");
    expect_kind(TokenKind::BlockEnd, "'%}'");
    std::string found;
    n->bodies.push_back(parse_body({"endfor", "else"}, found));
    expect_kind(TokenKind::BlockEnd, "'%}'");
    if (found == "else") {
      n->bodies.push_back(parse_body({"endfor"}, found));
      expect_kind(TokenKind::BlockEnd, "'%}'");
    }
    return n;
  }

  NodePtr parse_set(const Token& begin) {
    const Token& first = expect_kind(TokenKind::Name, "a variable name");
    if (accept_op(".")) {
      NodePtr n = node(NodeKind::Set, begin);
      n->names.push_back(first.text);
      n->attr = expect_kind(TokenKind::Name, "an attribute name").text;
      expect_op("=");
      n->exprs.push_back(parse_tuple_expression());
      expect_kind(TokenKind::BlockEnd, "'%}'");
      return n;
    }
    std::vector<std::string> names{first.text};
    while (accept_op(",")) names.push_back(expect_kind(TokenKind::Name, "a variable name").text);
    if (names.size() == 1 && peek().kind == TokenKind::BlockEnd) {
      next();
      NodePtr n = node(NodeKind::SetBlock, begin);
      n->names = std::move(names);
      std::string found;
      n->bodies.push_back(parse_body({"endset"}, found));
      expect_kind(TokenKind::BlockEnd, "'%}'");
      return n;
    }
    NodePtr n = node(NodeKind::Set, begin);
    n->names = std::move(names);
    expect_op("=");
    n->exprs.push_back(parse_tuple_expression());
    expect_kind(TokenKind::BlockEnd, "'%}'");
    return n;
  }

  // Macro parameters: names, each with an optional default expression.
  void parse_params(Node& n) {
    expect_op("(");
    while (!accept_op(")")) {
      if (!n.names.empty()) expect_op(",");
      if (accept_op(")")) break;
      n.names.push_back(expect_kind(TokenKind::Name, "a parameter name").text);
      n.exprs.push_back(accept_op("=") ? parse_expression() : nullptr);
    }
  }

  NodePtr parse_macro(const Token& begin) {
    NodePtr n = node(NodeKind::Macro, begin);
    n->text = expect_kind(TokenKind::Name, "a macro name").text;
    parse_params(*n);
    expect_kind(TokenKind::BlockEnd, "'%}'");
    std::string found;
    n->bodies.push_back(parse_body({"endmacro"}, found));
    if (peek().kind == TokenKind::Name) next();  // {% endmacro name %}
    expect_kind(TokenKind::BlockEnd, "'%}'");
    return n;
  }

  NodePtr parse_call_block(const Token& begin) {
    NodePtr n = node(NodeKind::CallBlock, begin);
    if (peek().kind == TokenKind::Operator && peek().text == "(") parse_params(*n);
    n->exprs.clear();  // caller() defaults are not supported; the call expression is exprs[0]
    ExprPtr call = parse_expression();
    if (call->kind != ExprKind::Call) error(begin, "'{% call %}' needs a macro call");
    n->exprs.push_back(std::move(call));
    expect_kind(TokenKind::BlockEnd, "'%}'");
    std::string found;
    n->bodies.push_back(parse_body({"endcall"}, found));
    expect_kind(TokenKind::BlockEnd, "'%}'");
    return n;
  }

  std::vector<std::string> parse_targets() {
    const bool paren = accept_op("(");
    std::vector<std::string> names{expect_kind(TokenKind::Name, "a loop variable").text};
    while (accept_op(",")) names.push_back(expect_kind(TokenKind::Name, "a loop variable").text);
    if (paren) expect_op(")");
    return names;
  }

  // ---- expressions, lowest precedence first (jinja2's parser.py order) ----

  // `set x = a, b` makes a tuple.
  ExprPtr parse_tuple_expression() {
    ExprPtr first = parse_expression();
    if (!(peek().kind == TokenKind::Operator && peek().text == ",")) return first;
    ExprPtr list = expr(ExprKind::ListLiteral, peek());
    list->kids.push_back(std::move(first));
    while (accept_op(",")) list->kids.push_back(parse_expression());
    return list;
  }

  ExprPtr parse_expression() {
    Guard guard(*this);
    ExprPtr value = parse_or();
    while (peek_name("if")) {
      ExprPtr cond = expr(ExprKind::Cond, next());
      cond->kids.push_back(std::move(value));
      cond->kids.push_back(parse_or());
      cond->kids.push_back(accept_name("else") ? parse_expression() : nullptr);
      value = std::move(cond);
    }
    return value;
  }

  ExprPtr parse_or() {
    ExprPtr left = parse_and();
    while (peek_name("or")) {
      ExprPtr e = expr(ExprKind::Or, next());
      e->kids.push_back(std::move(left));
      e->kids.push_back(parse_and());
      left = std::move(e);
    }
    return left;
  }

  ExprPtr parse_and() {
    ExprPtr left = parse_not();
    while (peek_name("and")) {
      ExprPtr e = expr(ExprKind::And, next());
      e->kids.push_back(std::move(left));
      e->kids.push_back(parse_not());
      left = std::move(e);
    }
    return left;
  }

  ExprPtr parse_not() {
    if (peek_name("not")) {
      Guard guard(*this);
      ExprPtr e = expr(ExprKind::Not, next());
      e->kids.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      std::string op;
      const Token& t = peek();
      if (t.kind == TokenKind::Operator &&
          (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) {
        op = t.text;
        next();
      } else if (peek_name("in")) {
        op = "in";
        next();
      } else if (peek_name("not") && index_ + 1 < tokens_.size() && tokens_[index_ + 1].kind == TokenKind::Name &&
                 tokens_[index_ + 1].text == "in") {
        op = "not in";
        next();
        next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = expr(ExprKind::Compare, t);
        cmp->kids.push_back(std::move(first));
      }
      cmp->ops.push_back(op);
      cmp->kids.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr binary_chain(std::initializer_list<const char*> ops, ExprPtr (Parser::*operand)()) {
    ExprPtr left = (this->*operand)();
    while (true) {
      const Token& t = peek();
      bool match = false;
      for (const char* op : ops) match = match || (t.kind == TokenKind::Operator && t.text == op);
      if (!match) return left;
      ExprPtr e = expr(ExprKind::Binary, next());
      e->name = t.text;
      e->kids.push_back(std::move(left));
      e->kids.push_back((this->*operand)());
      left = std::move(e);
    }
  }

  ExprPtr parse_math1() { return binary_chain({"+", "-"}, &Parser::parse_concat); }

  ExprPtr parse_concat() {
    ExprPtr first = parse_math2();
    if (!(peek().kind == TokenKind::Operator && peek().text == "~")) return first;
    ExprPtr e = expr(ExprKind::Concat, peek());
    e->kids.push_back(std::move(first));
    while (accept_op("~")) e->kids.push_back(parse_math2());
    return e;
  }

  ExprPtr parse_math2() { return binary_chain({"*", "/", "//", "%"}, &Parser::parse_pow); }
  ExprPtr parse_pow() { return binary_chain({"**"}, &Parser::parse_unary_filtered); }
  ExprPtr parse_unary_filtered() { return parse_unary(true); }

  ExprPtr parse_unary(bool with_filter) {
    Guard guard(*this);
    ExprPtr node;
    if (peek().kind == TokenKind::Operator && (peek().text == "-" || peek().text == "+")) {
      const ExprKind kind = peek().text == "-" ? ExprKind::Neg : ExprKind::Pos;
      node = expr(kind, next());
      node->kids.push_back(parse_unary(false));
    } else {
      node = parse_primary();
    }
    node = parse_postfix(std::move(node));
    if (with_filter) node = parse_filters(std::move(node));
    return node;
  }

  ExprPtr parse_primary() {
    const Token& t = next();
    switch (t.kind) {
      case TokenKind::Name:
        if (t.text == "true" || t.text == "True") return literal(Value(true), t);
        if (t.text == "false" || t.text == "False") return literal(Value(false), t);
        if (t.text == "none" || t.text == "None") return literal(Value::none(), t);
        {
          ExprPtr e = expr(ExprKind::Name, t);
          e->name = t.text;
          return e;
        }
      case TokenKind::String: {
        std::string s = t.text;
        while (peek().kind == TokenKind::String) s += next().text;  // adjacent literals concatenate
        return literal(Value(std::move(s)), t);
      }
      case TokenKind::Integer: {
        int64_t v = 0;
        const auto res = std::from_chars(t.text.data(), t.text.data() + t.text.size(), v);
        if (res.ec != std::errc()) error(t, "integer literal out of range");
        return literal(Value(v), t);
      }
      case TokenKind::Float:
        return literal(Value(std::stod(t.text)), t);
      case TokenKind::Operator:
        if (t.text == "(") {
          if (accept_op(")")) return expr(ExprKind::ListLiteral, t);
          ExprPtr first = parse_expression();
          if (accept_op(")")) return first;
          ExprPtr list = expr(ExprKind::ListLiteral, t);
          list->kids.push_back(std::move(first));
          while (accept_op(",")) {
            if (peek().kind == TokenKind::Operator && peek().text == ")") break;
            list->kids.push_back(parse_expression());
          }
          expect_op(")");
          return list;
        }
        if (t.text == "[") {
          ExprPtr list = expr(ExprKind::ListLiteral, t);
          while (!accept_op("]")) {
            if (!list->kids.empty()) {
              expect_op(",");
              if (accept_op("]")) break;
            }
            list->kids.push_back(parse_expression());
          }
          return list;
        }
        if (t.text == "{") {
          ExprPtr dict = expr(ExprKind::DictLiteral, t);
          while (!accept_op("}")) {
            if (!dict->kids.empty()) {
              expect_op(",");
              if (accept_op("}")) break;
            }
            dict->kids.push_back(parse_expression());
            expect_op(":");
            dict->kids.push_back(parse_expression());
          }
          return dict;
        }
        break;
      default:
        break;
    }
    error(t, t.kind == TokenKind::End || t.kind == TokenKind::VarEnd || t.kind == TokenKind::BlockEnd
                 ? std::string("unexpected end of expression")
                 : fmt::format("unexpected '{}'", t.text));
  }

  ExprPtr parse_postfix(ExprPtr node) {
    while (true) {
      const Token& t = peek();
      if (t.kind != TokenKind::Operator) return node;
      if (t.text == ".") {
        next();
        const Token& attr = next();
        if (attr.kind == TokenKind::Name) {
          ExprPtr e = expr(ExprKind::Attr, attr);
          e->name = attr.text;
          e->kids.push_back(std::move(node));
          node = std::move(e);
        } else if (attr.kind == TokenKind::Integer) {
          ExprPtr e = expr(ExprKind::Subscript, attr);
          e->kids.push_back(std::move(node));
          e->kids.push_back(literal(Value(static_cast<int64_t>(std::stoll(attr.text))), attr));
          node = std::move(e);
        } else {
          error(attr, "expected an attribute name after '.'");
        }
      } else if (t.text == "[") {
        next();
        node = parse_subscript(std::move(node), t);
      } else if (t.text == "(") {
        next();
        ExprPtr call = expr(ExprKind::Call, t);
        call->kids.push_back(std::move(node));
        parse_call_args(*call);
        node = std::move(call);
      } else {
        return node;
      }
    }
  }

  ExprPtr parse_subscript(ExprPtr object, const Token& at) {
    const auto at_op = [&](const char* op) { return peek().kind == TokenKind::Operator && peek().text == op; };
    ExprPtr start = at_op(":") ? nullptr : parse_expression();
    if (!accept_op(":")) {
      expect_op("]");
      ExprPtr e = expr(ExprKind::Subscript, at);
      e->kids.push_back(std::move(object));
      e->kids.push_back(std::move(start));
      return e;
    }
    ExprPtr e = expr(ExprKind::Slice, at);
    e->kids.push_back(std::move(object));
    e->kids.push_back(std::move(start));
    e->kids.push_back(at_op(":") || at_op("]") ? nullptr : parse_expression());
    ExprPtr step;
    if (accept_op(":")) step = at_op("]") ? nullptr : parse_expression();
    e->kids.push_back(std::move(step));
    expect_op("]");
    return e;
  }

  // After '(' : positional and keyword arguments up to ')'.
  void parse_call_args(Expr& call) {
    std::vector<ExprPtr> named;
    size_t count = 0;
    while (!accept_op(")")) {
      if (count++ > 0) {
        expect_op(",");
        if (accept_op(")")) break;
      }
      if (peek().kind == TokenKind::Name && index_ + 1 < tokens_.size() &&
          tokens_[index_ + 1].kind == TokenKind::Operator && tokens_[index_ + 1].text == "=") {
        call.keywords.push_back(next().text);
        next();
        named.push_back(parse_expression());
      } else {
        if (!named.empty()) error(peek(), "positional argument after a keyword argument");
        call.kids.push_back(parse_expression());
      }
    }
    for (ExprPtr& e : named) call.kids.push_back(std::move(e));
  }

  ExprPtr parse_filters(ExprPtr node) {
    while (true) {
      if (accept_op("|")) {
        const Token& name = expect_kind(TokenKind::Name, "a filter name");
        ExprPtr f = expr(ExprKind::Filter, name);
        f->name = name.text;
        f->kids.push_back(std::move(node));
        if (accept_op("(")) parse_call_args(*f);
        node = std::move(f);
      } else if (peek_name("is")) {
        next();
        ExprPtr test = expr(ExprKind::Test, peek());
        test->negated = accept_name("not");
        test->name = expect_kind(TokenKind::Name, "a test name").text;
        test->kids.push_back(std::move(node));
        const Token& t = peek();
        if (accept_op("(")) {
          parse_call_args(*test);
        } else if ((t.kind == TokenKind::Name || t.kind == TokenKind::String || t.kind == TokenKind::Integer ||
                    t.kind == TokenKind::Float ||
                    (t.kind == TokenKind::Operator && (t.text == "[" || t.text == "{"))) &&
                   !peek_name("else") && !peek_name("or") && !peek_name("and") && !peek_name("is")) {
          test->kids.push_back(parse_postfix(parse_primary()));
        }
        node = std::move(test);
      } else {
        return node;
      }
    }
  }

  // ---- token helpers ----

  struct Guard {
    explicit Guard(Parser& p) : parser(p) {
      if (++parser.depth_ > parser.max_depth_) {
        parser.error(parser.peek(), fmt::format("nesting deeper than {} levels", parser.max_depth_));
      }
    }
    ~Guard() { --parser.depth_; }
    Parser& parser;
  };

  const Token& peek() const { return tokens_[index_]; }
  const Token& next() {
    const Token& t = tokens_[index_];
    if (index_ + 1 < tokens_.size()) ++index_;
    return t;
  }
  bool peek_name(const char* name) const { return peek().kind == TokenKind::Name && peek().text == name; }
  bool accept_name(const char* name) {
    if (!peek_name(name)) return false;
    next();
    return true;
  }
  bool accept_op(const char* op) {
    if (peek().kind != TokenKind::Operator || peek().text != op) return false;
    next();
    return true;
  }
  void expect_op(const char* op) {
    if (!accept_op(op)) error(peek(), fmt::format("expected '{}'", op));
  }
  void expect_name(const char* name) {
    if (!accept_name(name)) error(peek(), fmt::format("expected '{}'", name));
  }
  const Token& expect_kind(TokenKind kind, const char* what) {
    if (peek().kind != kind) error(peek(), fmt::format("expected {}", what));
    return next();
  }

  NodePtr node(NodeKind kind, const Token& at) const {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->line = at.line;
    n->column = at.column;
    return n;
  }
  ExprPtr expr(ExprKind kind, const Token& at) const {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = at.line;
    e->column = at.column;
    return e;
  }
  ExprPtr literal(Value v, const Token& at) const {
    ExprPtr e = expr(ExprKind::Literal, at);
    e->literal = std::move(v);
    return e;
  }

  [[noreturn]] void error(const Token& at, const std::string& message) const {
    const std::string near = at.kind == TokenKind::End ? " (at the end of the template)" : "";
    fail("template:{}:{}: {}{}", at.line, at.column, message, near);
  }

  const std::vector<Token>& tokens_;
  size_t index_ = 0;
  int depth_ = 0;
  int max_depth_;
};

}  // namespace

Body parse(const std::vector<Token>& tokens, int max_depth) {
  return Parser(tokens, max_depth).parse_template();
}

}  // namespace flux::engine::jinja
