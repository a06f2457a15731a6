// jinja2's built-in tests (`x is defined`, `x is string`, ...), builtins.h.
#include <string_view>

#include "engine/core/error.h"
#include "engine/tokenizer/jinja/builtins.h"

namespace flux::engine::jinja {
namespace {

const Value& argument(const std::string& test, const Args& args) {
  require(!args.positional.empty(), "test '{}' needs an argument", test);
  return args.positional[0];
}

bool all_case(const Value& v, bool upper) {
  if (!v.is_string()) return false;
  bool cased = false;
  for (const char c : v.as_string()) {
    if (c >= 'a' && c <= 'z') {
      if (upper) return false;
      cased = true;
    } else if (c >= 'A' && c <= 'Z') {
      if (!upper) return false;
      cased = true;
    }
  }
  return cased;
}

}  // namespace

bool is_test(const std::string& name) {
  static constexpr std::string_view names[] = {
      "defined",     "undefined", "none",  "string",   "mapping", "iterable", "sequence", "number", "integer", "float",
      "boolean",     "true",      "false", "callable", "equalto", "eq",       "==",       "ne",     "!=",      "lt",
      "<",           "le",        "<=",    "gt",       ">",       "ge",       ">=",       "in",     "odd",     "even",
      "divisibleby", "lower",     "upper", "sameas",   "escaped", "filter",   "test"};
  for (const std::string_view n : names) {
    if (n == name) return true;
  }
  return false;
}

bool apply_test(const std::string& name, const Value& v, const Args& args) {
  using K = Value::Kind;
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  // Undefined iterates as empty and has len() in jinja2, so it passes both.
  if (name == "iterable" || name == "sequence") return v.is_list() || v.is_dict() || v.is_string() || v.is_undefined();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.kind() == K::Int;
  if (name == "float") return v.kind() == K::Float;
  if (name == "boolean") return v.kind() == K::Bool;
  if (name == "true") return v.kind() == K::Bool && v.as_bool();
  if (name == "false") return v.kind() == K::Bool && !v.as_bool();
  if (name == "callable") return v.is_function();
  if (name == "equalto" || name == "eq" || name == "==") return equals(v, argument(name, args));
  if (name == "ne" || name == "!=") return !equals(v, argument(name, args));
  if (name == "lt" || name == "<") return less_than(v, argument(name, args));
  if (name == "le" || name == "<=") return !less_than(argument(name, args), v);
  if (name == "gt" || name == ">") return less_than(argument(name, args), v);
  if (name == "ge" || name == ">=") return !less_than(v, argument(name, args));
  if (name == "in") {
    const Value& container = argument(name, args);
    if (container.is_string()) return v.is_string() && container.as_string().find(v.as_string()) != std::string::npos;
    for (const Value& item : iterate(container)) {
      if (equals(item, v)) return true;
    }
    return false;
  }
  if (name == "odd" || name == "even") {
    require(v.is_number(), "test '{}' needs a number, got {}", name, v.type_name());
    return (v.as_int() % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    const int64_t d = argument(name, args).as_int();
    require(d != 0, "divisibleby 0");
    return v.as_int() % d == 0;
  }
  if (name == "lower" || name == "upper") return all_case(v, name == "upper");
  if (name == "sameas") {
    const Value& other = argument(name, args);
    return v.kind() == other.kind() && equals(v, other) &&
           (v.kind() == K::None || v.kind() == K::Bool || v.kind() == K::Undefined);
  }
  if (name == "escaped") return false;
  if (name == "filter") return is_filter(argument(name, args).str());
  if (name == "test") return is_test(argument(name, args).str());
  fail("unknown test '{}'", name);
}

}  // namespace flux::engine::jinja
