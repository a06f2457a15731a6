// Expressions: operators with Python semantics, calls, filters, tests (statements: evaluator.cpp).
#include <cmath>
#include <limits>

#include "engine/core/error.h"
#include "engine/tokenizer/jinja/evaluator.h"
#include "engine/tokenizer/jinja/evaluator_support.h"

namespace flux::engine::jinja {
namespace {

using detail::Nest;
using detail::rethrow_located;

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

}  // namespace

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
        // `[s, s, s, ...]` stands for s's text each time: a short text can name a 4 MiB string a thousand times.
        List list;
        size_t built = 0;
        for (const ExprPtr& k : e.kids) {
          list.push_back(eval(*k));
          built += 1 + (list.back().is_string() ? list.back().as_string().size() : 0);
          size_limit_.check(built, "a list literal");
        }
        return Value(std::move(list));
      }
      case ExprKind::DictLiteral: {
        Dict dict;
        size_t built = 0;
        for (size_t i = 0; i + 1 < e.kids.size(); i += 2) {
          std::string key = eval(*e.kids[i]).str(size_limit_.max_bytes);
          Value value = eval(*e.kids[i + 1]);
          built += 1 + key.size() + (value.is_string() ? value.as_string().size() : 0);
          size_limit_.check(built, "a dict literal");
          dict.set(key, std::move(value));
        }
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
          out += eval(*k).str(size_limit_.max_bytes);
          size_limit_.check(out.size(), "'~'");
        }
        size_limit_.charge(out.size());
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
    size_limit_.charge(a.as_string().size() + b.as_string().size());
    return Value(a.as_string() + b.as_string());
  }
  if (op == "+" && a.is_list() && b.is_list()) {
    // The strings a list holds count, not only its items; the copy costs its items.
    size_limit_.check(built_size(a.as_list()) + built_size(b.as_list()), "'+' of two lists");
    size_limit_.charge((a.as_list().size() + b.as_list().size()) * sizeof(Value));
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
    // Checked before anything is built: `[big] * n` stands for n times the text of big, so a list's unit is its
    // built_size, not its length.
    const auto unit = static_cast<uint64_t>(seq.is_string() ? seq.as_string().size() : built_size(seq.as_list()));
    // '' * 10**12 and [] * 10**12 are empty: answer without looping n times (found by the chat_template fuzzer).
    if (unit == 0) return seq.is_string() ? Value(std::string()) : Value(List());
    require( static_cast<uint64_t>(n) <= size_limit_.max_bytes / unit,
            "'*' would build a value of more than {} bytes or items (the output size limit)", size_limit_.max_bytes);
    size_limit_.charge(static_cast<size_t>(n) * (seq.is_string() ? seq.as_string().size()
                                                                  : seq.as_list().size() * sizeof(Value)));
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
