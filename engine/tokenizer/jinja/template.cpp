#include "engine/tokenizer/jinja/template.h"

#include <algorithm>

#include "engine/core/error.h"
#include "engine/tokenizer/jinja/builtins.h"
#include "engine/tokenizer/jinja/lexer.h"
#include "engine/tokenizer/jinja/parser.h"

namespace flux::engine::jinja {
namespace {

// jinja2 rejects unknown filters and tests when it compiles, even in branches that never run; so do we.
void check_names(const Expr& e) {
  if (e.kind == ExprKind::Filter)
    require(is_filter(e.name), "template:{}:{}: unknown filter '{}'", e.line, e.column, e.name);
  if (e.kind == ExprKind::Test) require(is_test(e.name), "template:{}:{}: unknown test '{}'", e.line, e.column, e.name);
  for (const ExprPtr& k : e.kids) {
    if (k) check_names(*k);
  }
}

void check_names(const Body& body) {
  for (const NodePtr& n : body) {
    for (const ExprPtr& e : n->exprs) {
      if (e) check_names(*e);
    }
    for (const Body& b : n->bodies) check_names(b);
  }
}

Value range(const Args& args, int64_t max_items) {
  require(!args.positional.empty() && args.positional.size() <= 3, "range() takes 1 to 3 arguments");
  int64_t start = 0, stop = 0, step = 1;
  if (args.positional.size() == 1) {
    stop = args.positional[0].as_int();
  } else {
    start = args.positional[0].as_int();
    stop = args.positional[1].as_int();
    if (args.positional.size() == 3) step = args.positional[2].as_int();
  }
  require(step != 0, "range() step must not be zero");
  const int64_t count = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0)
                                 : (start > stop ? (start - stop - step - 1) / -step : 0);
  require(count <= max_items, "range() of {} items is more than the template may loop over ({})", count, max_items);
  List items;
  for (int64_t i = 0; i < count; ++i) items.emplace_back(start + i * step);
  return Value(std::move(items));
}

Value keyword_dict(const Args& args, bool is_namespace) {
  Dict dict;
  dict.is_namespace = is_namespace;
  for (const Value& p : args.positional) {  // namespace({...}) / dict({...}) copy a mapping
    require(p.is_dict(), "{}() takes keyword arguments or a mapping", is_namespace ? "namespace" : "dict");
    for (const auto& [k, v] : p.as_dict().entries) dict.set(k, v);
  }
  for (const auto& [k, v] : args.named) dict.set(k, v);
  return Value(std::move(dict));
}

}  // namespace

Template Template::compile(const std::string& source) {
  Template t;
  try {
    auto body = std::make_shared<Body>(parse(tokenize(source)));
    check_names(*body);
    t.body_ = std::move(body);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail("template: {}", e.what());
  }
  return t;
}

std::string Template::render(const Dict& variables, const RenderLimits& limits) const {
  Dict globals;
  // A range is materialised: cap it well below the step budget so it cannot take gigabytes.
  const int64_t max_items = std::min<int64_t>(limits.max_steps, 1'000'000);
  globals.set("range", Value(Function([max_items](const Args& a) { return range(a, max_items); })));
  globals.set("namespace", Value(Function([](const Args& a) { return keyword_dict(a, true); })));
  globals.set("dict", Value(Function([](const Args& a) { return keyword_dict(a, false); })));
  for (const auto& [k, v] : variables.entries) globals.set(k, v);
  Evaluator evaluator(limits, globals);
  return evaluator.render(*body_);
}

}  // namespace flux::engine::jinja
