#include "engine/tokenizer/jinja/evaluator.h"

#include <cmath>
#include <limits>

#include "engine/core/error.h"

namespace flux::engine::jinja {
namespace {

// Errors carry the position of the innermost node that failed; outer nodes pass them on unchanged.
[[noreturn]] void rethrow_located(int line, int column) {
  try {
    throw;
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.rfind("template:", 0) == 0) throw;
    fail("template:{}:{}: {}", line, column, message);
  } catch (const std::bad_alloc&) {
    fail("template:{}:{}: out of memory while rendering", line, column);
  } catch (const std::exception& e) {
    fail("template:{}:{}: {}", line, column, e.what());
  }
}

int64_t checked(bool overflow, int64_t value) {
  require(!overflow, "integer overflow");
  return value;
}

// Python int arithmetic on int64, with an Error instead of wrapping.
int64_t checked_op(char op, int64_t x, int64_t y) {
  int64_t r = 0;
  const bool overflow = op == '+'   ? __builtin_add_overflow(x, y, &r)
                        : op == '-' ? __builtin_sub_overflow(x, y, &r)
                                    : __builtin_mul_overflow(x, y, &r);
  return checked(overflow, r);
}

Value arithmetic(const std::string& op, const Value& a, const Value& b) {
  const bool floating = a.kind() == Value::Kind::Float || b.kind() == Value::Kind::Float;
  if (op == "/" || (floating && op != "%" && op != "//")) {
    const double x = a.as_float(), y = b.as_float();
    if (op == "+") return Value(x + y);
    if (op == "-") return Value(x - y);
    if (op == "*") return Value(x * y);
    if (op == "**") return Value(std::pow(x, y));
    require(y != 0.0, "division by zero");
    return Value(x / y);
  }
  if (floating) {  // // and % on floats: Python floors
    const double x = a.as_float(), y = b.as_float();
    require(y != 0.0, "division by zero");
    if (op == "//") return Value(std::floor(x / y));
    const double m = std::fmod(x, y);
    return Value(m != 0.0 && ((m < 0) != (y < 0)) ? m + y : m);
  }
  const int64_t x = a.as_int(), y = b.as_int();
  if (op == "+" || op == "-" || op == "*") return Value(checked_op(op[0], x, y));
  if (op == "**") {
    if (y < 0) return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
    if (x == -1) return Value(int64_t{y % 2 == 0 ? 1 : -1});
    int64_t result = 1;  // overflow ends the loop within 64 steps for |x| >= 2
    for (int64_t i = 0; i < y && result != 0 && !(result == 1 && x == 1); ++i) result = checked_op('*', result, x);
    return Value(result);
  }
  require(y != 0, "integer division or modulo by zero");
  require(!(x == std::numeric_limits<int64_t>::min() && y == -1), "integer overflow");
  int64_t q = x / y, m = x % y;
  if (m != 0 && ((m < 0) != (y < 0))) {
    --q;
    m += y;
  }
  return Value(op == "//" ? q : m);
}

// Whether `v` is or holds the dict `target` (by identity).
bool holds(const Value& v, const Dict* target, int depth) {
  require(depth < 128, "value nested deeper than 128 levels");
  if (v.is_dict()) {
    if (&v.as_dict() == target) return true;
    for (const auto& entry : v.as_dict().entries) {
      if (holds(entry.second, target, depth + 1)) return true;
    }
  } else if (v.is_list()) {
    for (const Value& item : v.as_list()) {
      if (holds(item, target, depth + 1)) return true;
    }
  }
  return false;
}

bool contains(const Value& container, const Value& item) {
  if (container.is_string()) {
    require(item.is_string(), "'in <string>' requires a string on the left, not {}", item.type_name());
    return container.as_string().find(item.as_string()) != std::string::npos;
  }
  if (container.is_dict()) return item.is_string() && container.as_dict().find(item.as_string()) != nullptr;
  for (const Value& v : iterate(container)) {
    if (equals(v, item)) return true;
  }
  return false;
}

// Counts one level of evaluation nesting for as long as it lives.
struct Nest {
  Nest(int& counter, int max) : depth(counter) {
    require(++depth <= max, "the template nests evaluation deeper than {} levels", max);
  }
  ~Nest() { --depth; }
  int& depth;
};

}  // namespace

Evaluator::Evaluator(const RenderLimits& limits, const Dict& globals) : limits_(limits) {
  size_limit_.max_bytes = limits.max_output_bytes;
  auto root = std::make_shared<Scope>();
  for (const auto& [k, v] : globals.entries) (*root)[k] = v;
  scopes_.push_back(std::move(root));
}

std::string Evaluator::render(const Body& body) {
  std::string out;
  exec_body(body, out);
  return out;
}

void Evaluator::step() {
  require(++steps_ <= limits_.max_steps, "the template ran more than {} steps (an endless or runaway loop?)",
          limits_.max_steps);
}

void Evaluator::emit(std::string& out, const std::string& text) const {
  size_limit_.check(out.size() + text.size(), "the output");
  out += text;
}

Value Evaluator::lookup(const std::string& name) const {
  for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
    const auto found = (*it)->find(name);
    if (found != (*it)->end()) return found->second;
  }
  return Value();
}

void Evaluator::assign(const std::string& name, Value value) {
  (*scopes_.back())[name] = std::move(value);
}

Evaluator::Flow Evaluator::exec_body(const Body& body, std::string& out) {
  for (const NodePtr& node : body) {
    const Flow flow = exec(*node, out);
    if (flow != Flow::Normal) return flow;
  }
  return Flow::Normal;
}

Evaluator::Flow Evaluator::exec(const Node& node, std::string& out) {
  try {
    const Nest nest(nesting_, limits_.max_nesting);
    step();
    switch (node.kind) {
      case NodeKind::Text:
        emit(out, node.text);
        break;
      case NodeKind::Output:
        emit(out, eval(*node.exprs[0]).str());
        break;
      case NodeKind::If:
        for (size_t i = 0; i < node.exprs.size(); ++i) {
          if (eval(*node.exprs[i]).truthy()) return exec_body(node.bodies[i], out);
        }
        if (node.bodies.size() > node.exprs.size()) return exec_body(node.bodies.back(), out);
        break;
      case NodeKind::For:
        return exec_for(node, out);
      case NodeKind::Set:
        exec_set(node);
        break;
      case NodeKind::SetBlock: {
        std::string captured;
        exec_body(node.bodies[0], captured);
        assign(node.names[0], Value(std::move(captured)));
        break;
      }
      case NodeKind::Macro:
        assign(node.text, make_macro(node));
        break;
      case NodeKind::CallBlock: {
        const Expr& call = *node.exprs[0];
        const Value callee = eval(*call.kids[0]);
        require(callee.is_function(), "'{{% call %}}' of something that is not a macro");
        Args args = eval_args(call, 1);
        // caller() renders the block's body where the block stands, with the caller's parameters bound.
        const WeakScopes here(scopes_.begin(), scopes_.end());
        args.named.emplace_back("caller", Value(Function([this, &node, here](const Args& a) {
                                  std::vector<std::shared_ptr<Scope>> saved = std::move(scopes_);
                                  for (const std::weak_ptr<Scope>& scope : here) {
                                    if (auto alive = scope.lock()) scopes_.push_back(std::move(alive));
                                  }
                                  if (scopes_.empty()) scopes_.push_back(saved.front());
                                  scopes_.push_back(std::make_shared<Scope>());
                                  for (size_t i = 0; i < node.names.size(); ++i) {
                                    const Value* v = a.get(i, node.names[i]);
                                    assign(node.names[i], v != nullptr ? *v : Value());
                                  }
                                  std::string body;
                                  try {
                                    exec_body(node.bodies[0], body);
                                  } catch (...) {
                                    scopes_ = std::move(saved);
                                    throw;
                                  }
                                  scopes_ = std::move(saved);
                                  return Value(std::move(body));
                                })));
        emit(out, callee.as_function()(args).str());
        break;
      }
      case NodeKind::Break:
        return Flow::Break;
      case NodeKind::Continue:
        return Flow::Continue;
    }
  } catch (...) {
    rethrow_located(node.line, node.column);
  }
  return Flow::Normal;
}

Evaluator::Flow Evaluator::exec_for(const Node& node, std::string& out) {
  const List all = iterate(eval(*node.exprs[0]));
  const auto bind = [&](const Value& item) {
    if (node.names.size() == 1) {
      assign(node.names[0], item);
      return;
    }
    require(item.is_list() && item.as_list().size() == node.names.size(), "cannot unpack {} into {} loop variables",
            item.repr(), node.names.size());
    for (size_t k = 0; k < node.names.size(); ++k) assign(node.names[k], item.as_list()[k]);
  };
  scopes_.push_back(std::make_shared<Scope>());
  struct Pop {
    std::vector<std::shared_ptr<Scope>>& scopes;
    ~Pop() { scopes.pop_back(); }
  } pop{scopes_};
  List items;
  if (node.exprs.size() > 1) {  // `for x in xs if cond`: the loop counts only the items that pass
    for (const Value& item : all) {
      step();
      bind(item);
      if (eval(*node.exprs[1]).truthy()) items.push_back(item);
    }
  } else {
    items = all;
  }
  if (items.empty()) return node.bodies.size() > 1 ? exec_body(node.bodies[1], out) : Flow::Normal;
  const auto n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    step();
    scopes_.back() = std::make_shared<Scope>();  // as jinja2: a set in one iteration is gone in the next
    const Value& item = items[static_cast<size_t>(i)];
    bind(item);
    Dict loop;
    loop.set("index", Value(i + 1));
    loop.set("index0", Value(i));
    loop.set("revindex", Value(n - i));
    loop.set("revindex0", Value(n - i - 1));
    loop.set("first", Value(i == 0));
    loop.set("last", Value(i == n - 1));
    loop.set("length", Value(n));
    loop.set("depth", Value(1));
    loop.set("depth0", Value(0));
    if (i > 0) loop.set("previtem", items[static_cast<size_t>(i - 1)]);
    if (i + 1 < n) loop.set("nextitem", items[static_cast<size_t>(i + 1)]);
    loop.set("cycle", Value(Function([i](const Args& a) {
               require(!a.positional.empty(), "loop.cycle() needs at least one value");
               return a.positional[static_cast<size_t>(i) % a.positional.size()];
             })));
    assign("loop", Value(std::move(loop)));
    if (exec_body(node.bodies[0], out) == Flow::Break) break;
  }
  return Flow::Normal;
}

void Evaluator::exec_set(const Node& node) {
  Value value = eval(*node.exprs[0]);
  if (!node.attr.empty()) {
    Value target = lookup(node.names[0]);
    require(target.is_dict() && target.as_dict().is_namespace,
            "cannot assign attribute '{}' on '{}': only a namespace() takes attributes", node.attr, node.names[0]);
    // Values are shared by reference: a namespace inside itself would be a cycle that is never freed.
    require(!holds(value, &target.as_dict(), 0), "cannot assign '{}.{}': a namespace cannot contain itself",
            node.names[0], node.attr);
    target.as_dict().set(node.attr, std::move(value));
    return;
  }
  if (node.names.size() == 1) {
    assign(node.names[0], std::move(value));
    return;
  }
  require(value.is_list() && value.as_list().size() == node.names.size(), "cannot unpack {} into {} names",
          value.repr(), node.names.size());
  for (size_t k = 0; k < node.names.size(); ++k) assign(node.names[k], value.as_list()[k]);
}

Value Evaluator::make_macro(const Node& node) {
  // The macro sees the scopes where it was defined (a loop variable, say), as a jinja2 closure does.
  const WeakScopes defined_in(scopes_.begin(), scopes_.end());
  return Value(Function([this, &node, defined_in](const Args& a) {
    Args args;
    args.positional = a.positional;
    Value caller;
    for (const auto& [k, v] : a.named) {
      if (k == "caller") {
        caller = v;
      } else {
        args.named.emplace_back(k, v);
      }
    }
    return call_macro(node, defined_in, args, caller);
  }));
}

Value Evaluator::call_macro(const Node& node, const WeakScopes& defined_in, const Args& args, const Value& caller) {
  require(call_depth_ < limits_.max_call_depth, "macro '{}' nested more than {} calls deep (endless recursion?)",
          node.text, limits_.max_call_depth);
  require(args.positional.size() <= node.names.size(), "macro '{}' takes {} arguments, {} given", node.text,
          node.names.size(), args.positional.size());
  for (const auto& [k, v] : args.named) {
    bool known = false;
    for (const std::string& p : node.names) known = known || p == k;
    require(known, "macro '{}' has no parameter '{}'", node.text, k);
  }
  std::vector<std::shared_ptr<Scope>> saved = std::move(scopes_);
  scopes_.clear();
  for (const std::weak_ptr<Scope>& scope : defined_in) {
    if (auto alive = scope.lock()) scopes_.push_back(std::move(alive));  // a finished loop's scope is gone
  }
  if (scopes_.empty() || scopes_.front() != saved.front()) scopes_.insert(scopes_.begin(), saved.front());
  scopes_.push_back(std::make_shared<Scope>());
  ++call_depth_;
  std::string out;
  try {
    if (!caller.is_undefined()) assign("caller", caller);
    for (size_t i = 0; i < node.names.size(); ++i) {
      const Value* v = args.get(i, node.names[i]);
      assign(node.names[i], v != nullptr ? *v : node.exprs[i] ? eval(*node.exprs[i]) : Value());
    }
    exec_body(node.bodies[0], out);
  } catch (...) {
    --call_depth_;
    scopes_ = std::move(saved);
    throw;
  }
  --call_depth_;
  scopes_ = std::move(saved);
  return Value(std::move(out));
}

Args Evaluator::eval_args(const Expr& e, size_t first) {
  Args args;
  const size_t named_from = e.kids.size() - e.keywords.size();
  for (size_t i = first; i < named_from; ++i) args.positional.push_back(eval(*e.kids[i]));
  for (size_t i = named_from; i < e.kids.size(); ++i)
    args.named.emplace_back(e.keywords[i - named_from], eval(*e.kids[i]));
  return args;
}

Value Evaluator::eval(const Expr& e) {
  try {
    const Nest nest(nesting_, limits_.max_nesting);
    step();
    switch (e.kind) {
      case ExprKind::Literal:
        return e.literal;
      case ExprKind::Name:
        return lookup(e.name);
      case ExprKind::ListLiteral: {
        List list;
        for (const ExprPtr& k : e.kids) list.push_back(eval(*k));
        return Value(std::move(list));
      }
      case ExprKind::DictLiteral: {
        Dict dict;
        for (size_t i = 0; i + 1 < e.kids.size(); i += 2) dict.set(eval(*e.kids[i]).str(), eval(*e.kids[i + 1]));
        return Value(std::move(dict));
      }
      case ExprKind::Attr:
        return get_attribute(eval(*e.kids[0]), e.name, size_limit_);
      case ExprKind::Subscript:
        return get_item(eval(*e.kids[0]), eval(*e.kids[1]));
      case ExprKind::Slice: {
        const auto part = [&](size_t i) { return e.kids[i] ? eval(*e.kids[i]) : Value(); };
        return get_slice(eval(*e.kids[0]), part(1), part(2), part(3));
      }
      case ExprKind::Call: {
        const Value callee = eval(*e.kids[0]);
        if (!callee.is_function()) {
          if (callee.is_undefined() && e.kids[0]->kind == ExprKind::Name) fail("'{}' is undefined", e.kids[0]->name);
          fail("'{}' object is not callable", callee.type_name());
        }
        return callee.as_function()(eval_args(e, 1));
      }
      case ExprKind::Filter: {
        Value subject = eval(*e.kids[0]);
        return apply_filter(e.name, subject, eval_args(e, 1), size_limit_);
      }
      case ExprKind::Test: {
        Value subject = eval(*e.kids[0]);
        return Value(apply_test(e.name, subject, eval_args(e, 1)) != e.negated);
      }
      case ExprKind::Neg:
      case ExprKind::Pos: {
        const Value v = eval(*e.kids[0]);
        require(v.is_number(), "bad operand type for unary {}: '{}'", e.kind == ExprKind::Neg ? '-' : '+',
                v.type_name());
        if (e.kind == ExprKind::Pos) return v.kind() == Value::Kind::Float ? v : Value(v.as_int());
        if (v.kind() == Value::Kind::Float) return Value(-v.as_float());
        return Value(checked(v.as_int() == std::numeric_limits<int64_t>::min(), -v.as_int()));
      }
      case ExprKind::Not:
        return Value(!eval(*e.kids[0]).truthy());
      case ExprKind::And: {
        Value left = eval(*e.kids[0]);
        return left.truthy() ? eval(*e.kids[1]) : left;
      }
      case ExprKind::Or: {
        Value left = eval(*e.kids[0]);
        return left.truthy() ? left : eval(*e.kids[1]);
      }
      case ExprKind::Binary:
        return eval_binary(e);
      case ExprKind::Compare:
        return eval_compare(e);
      case ExprKind::Concat: {
        std::string out;
        for (const ExprPtr& k : e.kids) {
          out += eval(*k).str();
          size_limit_.check(out.size(), "'~'");
        }
        return Value(std::move(out));
      }
      case ExprKind::Cond:
        if (eval(*e.kids[1]).truthy()) return eval(*e.kids[0]);
        return e.kids[2] ? eval(*e.kids[2]) : Value();
    }
  } catch (...) {
    rethrow_located(e.line, e.column);
  }
  return Value();
}

Value Evaluator::eval_binary(const Expr& e) {
  const Value a = eval(*e.kids[0]);
  const Value b = eval(*e.kids[1]);
  const std::string& op = e.name;
  if (a.is_number() && b.is_number()) return arithmetic(op, a, b);
  if (op == "+" && a.is_string() && b.is_string()) {
    size_limit_.check(a.as_string().size() + b.as_string().size(), "'+'");
    return Value(a.as_string() + b.as_string());
  }
  if (op == "+" && a.is_list() && b.is_list()) {
    size_limit_.check(a.as_list().size() + b.as_list().size(), "'+'");
    List out = a.as_list();
    out.insert(out.end(), b.as_list().begin(), b.as_list().end());
    return Value(std::move(out));
  }
  if (op == "*" && (a.is_string() || a.is_list() || b.is_string() || b.is_list())) {
    const Value& seq = a.is_number() ? b : a;
    const Value& count = a.is_number() ? a : b;
    require(count.is_number() && count.kind() != Value::Kind::Float, "can't multiply sequence by non-int of type '{}'",
            count.type_name());
    const int64_t n = std::max<int64_t>(0, count.as_int());
    const auto unit = static_cast<uint64_t>(seq.is_string() ? seq.as_string().size() : seq.as_list().size());
    require(unit == 0 || static_cast<uint64_t>(n) <= size_limit_.max_bytes / unit,
            "'*' would build a value of more than {} bytes or items (the output size limit)", size_limit_.max_bytes);
    if (seq.is_string()) {
      std::string out;
      for (int64_t i = 0; i < n; ++i) out += seq.as_string();
      return Value(std::move(out));
    }
    List out;
    for (int64_t i = 0; i < n; ++i) out.insert(out.end(), seq.as_list().begin(), seq.as_list().end());
    return Value(std::move(out));
  }
  fail("unsupported operand types for {}: '{}' and '{}'", op, a.type_name(), b.type_name());
}

Value Evaluator::eval_compare(const Expr& e) {
  Value left = eval(*e.kids[0]);
  for (size_t i = 0; i < e.ops.size(); ++i) {
    Value right = eval(*e.kids[i + 1]);
    const std::string& op = e.ops[i];
    bool ok = false;
    if (op == "==")
      ok = equals(left, right);
    else if (op == "!=")
      ok = !equals(left, right);
    else if (op == "<")
      ok = less_than(left, right);
    else if (op == ">")
      ok = less_than(right, left);
    else if (op == "<=")
      ok = !less_than(right, left);
    else if (op == ">=")
      ok = !less_than(left, right);
    else if (op == "in")
      ok = contains(right, left);
    else
      ok = !contains(right, left);
    if (!ok) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

}  // namespace flux::engine::jinja
