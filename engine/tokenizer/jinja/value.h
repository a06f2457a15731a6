// The values a Jinja template computes with, modelled on the Python objects jinja2 hands a chat template: undefined,
// none, bool, int, float, str, list, dict (insertion-ordered) and callables. Lists and dicts are shared by reference,
// as in Python; strings are UTF-8 and counted, indexed and sliced by code point, and shared too (immutable, as in
// Python): a variable lookup, a loop item or `[s] * n` copies a pointer, not the text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace flux::engine::jinja {

class Value;
using List = std::vector<Value>;

// A dict keeps insertion order (Python 3.7+); keys are strings (chat templates use no other keys). A namespace() is a
// dict whose attributes a `set ns.x = ...` may assign.
struct Dict {
  std::vector<std::pair<std::string, Value>> entries;
  bool is_namespace = false;

  const Value* find(const std::string& key) const;
  void set(const std::string& key, Value value);
};

// Arguments of a call: positional then keyword, as written.
struct Args {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> named;

  // The argument at `index` or named `name`, or nullptr when neither was given.
  const Value* get(size_t index, const std::string& name) const;
};
using Function = std::function<Value(const Args&)>;

class Value {
 public:
  enum class Kind { Undefined, None, Bool, Int, Float, String, Array, Map, Callable };  // list, dict, function

  Value() = default;  // undefined
  static Value none();
  Value(bool b) : data_(b) {}
  Value(int64_t i) : data_(i) {}
  Value(int i) : data_(static_cast<int64_t>(i)) {}
  Value(double f) : data_(f) {}
  Value(std::string s) : data_(std::make_shared<const std::string>(std::move(s))) {}
  Value(const char* s) : data_(std::make_shared<const std::string>(s)) {}
  Value(List list) : data_(std::make_shared<List>(std::move(list))) {}
  Value(Dict dict) : data_(std::make_shared<Dict>(std::move(dict))) {}
  Value(Function fn) : data_(std::make_shared<Function>(std::move(fn))) {}

  Kind kind() const { return static_cast<Kind>(data_.index()); }
  bool is_undefined() const { return kind() == Kind::Undefined; }
  bool is_none() const { return kind() == Kind::None; }
  bool is_string() const { return kind() == Kind::String; }
  bool is_list() const { return kind() == Kind::Array; }
  bool is_dict() const { return kind() == Kind::Map; }
  bool is_number() const { return kind() == Kind::Int || kind() == Kind::Float || kind() == Kind::Bool; }
  bool is_function() const { return kind() == Kind::Callable; }

  bool as_bool() const { return std::get<bool>(data_); }
  int64_t as_int() const;   // bool and int; float truncates
  double as_float() const;  // bool, int or float
  const std::string& as_string() const { return *std::get<std::shared_ptr<const std::string>>(data_); }
  const List& as_list() const { return *std::get<std::shared_ptr<List>>(data_); }
  List& as_list() { return *std::get<std::shared_ptr<List>>(data_); }
  const Dict& as_dict() const { return *std::get<std::shared_ptr<Dict>>(data_); }
  Dict& as_dict() { return *std::get<std::shared_ptr<Dict>>(data_); }
  const Function& as_function() const { return *std::get<std::shared_ptr<Function>>(data_); }

  bool truthy() const;
  // Python's str(): what `{{ value }}` prints ("" for undefined, "None", "True", "[1, 'a']"); throws Error when the
  // text of a list or dict would pass `max_bytes`.
  std::string str(size_t max_bytes = SIZE_MAX) const;
  // Python's repr(): strings quoted, as inside a printed list.
  std::string repr(size_t max_bytes = SIZE_MAX) const;
  // Python's type name, for error messages ("int", "str", "dict", "undefined").
  std::string type_name() const;

  static Value from_json(const nlohmann::ordered_json& json);

 private:
  std::string repr_at(int depth, size_t max_bytes) const;
  struct UndefinedTag {};
  struct NoneTag {};
  std::variant<UndefinedTag, NoneTag, bool, int64_t, double, std::shared_ptr<const std::string>, std::shared_ptr<List>,
               std::shared_ptr<Dict>, std::shared_ptr<Function>>
      data_;
};

// Python ==: int 1 == float 1.0 == True; lists element-wise; dicts as maps; undefined equals only undefined.
bool equals(const Value& a, const Value& b);
// Python <, for numbers, strings and lists; anything else throws Error naming both types.
bool less_than(const Value& a, const Value& b);
// json.dumps(value, ensure_ascii=False, indent=indent) as transformers' tojson filter calls it; indent < 0: none.
// Throws Error when the text would pass `max_bytes`.
std::string to_json(const Value& value, int indent, size_t max_bytes = SIZE_MAX);

// The size limit's measure of a list: one per item plus the bytes of the strings among them (the text it stands
// for: `[big] * n` is n times big, though the strings are shared); lists and dicts inside count one each.
size_t built_size(const List& items);

// Code-point helpers for UTF-8 strings: byte offsets of each code point start, plus the end.
std::vector<size_t> code_point_offsets(const std::string& s);

}  // namespace flux::engine::jinja
