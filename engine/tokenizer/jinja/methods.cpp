// Indexing, slicing, iteration and the Python methods of str and dict (builtins.h).
#include <algorithm>
#include <cctype>

#include "engine/core/error.h"
#include "engine/tokenizer/jinja/builtins.h"

namespace flux::engine::jinja {
namespace {

bool is_py_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1f);
}

std::string arg_string(const Args& args, size_t i, const char* name, const char* method) {
  const Value* v = args.get(i, name);
  require(v != nullptr && v->is_string(), "str.{}() needs a string argument '{}'", method, name);
  return v->as_string();
}

// Python str.split(sep=None, maxsplit=-1).
List split(const std::string& s, const Value* sep, int64_t maxsplit) {
  List out;
  if (sep == nullptr || sep->is_none()) {
    size_t i = 0;
    while (true) {
      while (i < s.size() && is_py_space(s[i])) ++i;
      if (i >= s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
        std::string rest = s.substr(i);
        while (!rest.empty() && is_py_space(rest.back())) rest.pop_back();
        out.emplace_back(std::move(rest));
        break;
      }
      size_t j = i;
      while (j < s.size() && !is_py_space(s[j])) ++j;
      out.emplace_back(s.substr(i, j - i));
      i = j;
    }
    return out;
  }
  require(sep->is_string() && !sep->as_string().empty(), "str.split(): empty or non-string separator");
  const std::string& d = sep->as_string();
  size_t start = 0;
  while (true) {
    const size_t at = s.find(d, start);
    if (at == std::string::npos || (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit)) break;
    out.emplace_back(s.substr(start, at - start));
    start = at + d.size();
  }
  out.emplace_back(s.substr(start));
  return out;
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to, int64_t count,
                        const SizeLimit& limit) {
  std::string out;
  int64_t done = 0;
  if (from.empty()) {  // Python inserts `to` around every code point
    const std::vector<size_t> cps = code_point_offsets(s);
    for (size_t i = 0; i + 1 < cps.size() + 1; ++i) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      if (i + 1 < cps.size()) out += s.substr(cps[i], cps[i + 1] - cps[i]);
      limit.check(out.size(), "replace()");
    }
    limit.charge(out.size());
    return out;
  }
  size_t start = 0;
  while (true) {
    const size_t at = s.find(from, start);
    if (at == std::string::npos || (count >= 0 && done >= count)) break;
    out.append(s, start, at - start);
    out += to;
    limit.check(out.size(), "replace()");
    start = at + from.size();
    ++done;
  }
  out.append(s, start);
  limit.check(out.size(), "replace()");
  limit.charge(out.size());
  return out;
}

bool affix_match(const std::string& s, const Value& affix, bool prefix) {
  const auto one = [&](const Value& v) {
    require(v.is_string(), "startswith()/endswith() needs a string or a tuple of strings");
    const std::string& a = v.as_string();
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (affix.is_list()) return std::any_of(affix.as_list().begin(), affix.as_list().end(), one);
  return one(affix);
}

std::string py_title(const std::string& s) {
  std::string out = s;
  bool previous_cased = false;
  for (char& c : out) {
    const bool alpha = std::isalpha(static_cast<unsigned char>(c)) != 0;
    if (alpha) c = static_cast<char>(previous_cased ? std::tolower(c) : std::toupper(c));
    previous_cased = alpha;
  }
  return out;
}

std::string ascii_case(std::string s, bool upper) {
  for (char& c : s) c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(c));
  return s;
}

Value string_method(const std::string& s, const std::string& name, const SizeLimit& limit) {
  if (name == "startswith" || name == "endswith") {
    const bool prefix = name == "startswith";
    return Value(Function([s, prefix](const Args& a) {
      require(!a.positional.empty(), "str.{}() needs an argument", prefix ? "startswith" : "endswith");
      return Value(affix_match(s, a.positional[0], prefix));
    }));
  }
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    const bool left = name != "rstrip", right = name != "lstrip";
    return Value(Function([s, left, right](const Args& a) {
      const Value* chars = a.get(0, "chars");
      std::string set = chars != nullptr && chars->is_string() ? chars->as_string() : std::string();
      return Value(strip(s, chars != nullptr && chars->is_string() ? &set : nullptr, left, right));
    }));
  }
  if (name == "split") {
    return Value(Function([s](const Args& a) {
      const Value* max = a.get(1, "maxsplit");
      return Value(split(s, a.get(0, "sep"), max != nullptr ? max->as_int() : -1));
    }));
  }
  if (name == "upper" || name == "lower") {
    const bool upper = name == "upper";
    return Value(Function([s, upper](const Args&) { return Value(ascii_case(s, upper)); }));
  }
  if (name == "title") return Value(Function([s](const Args&) { return Value(py_title(s)); }));
  if (name == "capitalize") {
    return Value(Function([s](const Args&) {
      std::string out = ascii_case(s, false);
      if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
      return Value(std::move(out));
    }));
  }
  if (name == "replace") {
    return Value(Function([s, limit](const Args& a) {
      const Value* count = a.get(2, "count");
      return Value(replace_all(s, arg_string(a, 0, "old", "replace"), arg_string(a, 1, "new", "replace"),
                               count != nullptr ? count->as_int() : -1, limit));
    }));
  }
  if (name == "find" || name == "count") {
    const bool find = name == "find";
    return Value(Function([s, find](const Args& a) {
      const std::string sub = arg_string(a, 0, "sub", find ? "find" : "count");
      if (find) {
        const size_t at = s.find(sub);
        if (at == std::string::npos) return Value(int64_t{-1});
        return Value(static_cast<int64_t>(code_point_offsets(s.substr(0, at)).size() - 1));
      }
      require(!sub.empty(), "str.count(): empty substring");
      int64_t n = 0;
      for (size_t at = s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
      return Value(n);
    }));
  }
  if (name == "splitlines") {
    return Value(Function([s](const Args&) {
      List out;
      size_t start = 0;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n') {
          out.emplace_back(s.substr(start, i - start));
          start = i + 1;
        }
      }
      if (start < s.size()) out.emplace_back(s.substr(start));
      return Value(std::move(out));
    }));
  }
  if (name == "join") {
    return Value(Function([s, limit](const Args& a) {
      require(!a.positional.empty(), "str.join() needs an iterable");
      std::string out;
      const List items = iterate(a.positional[0]);
      for (size_t i = 0; i < items.size(); ++i) {
        out += (i ? s : "") + items[i].str(limit.max_bytes);
        limit.check(out.size(), "join()");
      }
      limit.charge(out.size());
      return Value(std::move(out));
    }));
  }
  return Value();
}

Value dict_method(const Value& dict, const std::string& name) {
  if (name == "items" || name == "keys" || name == "values") {
    return Value(Function([dict, name](const Args&) {
      List out;
      for (const auto& [k, v] : dict.as_dict().entries) {
        if (name == "items") out.emplace_back(List{Value(k), v});
        if (name == "keys") out.emplace_back(k);
        if (name == "values") out.push_back(v);
      }
      return Value(std::move(out));
    }));
  }
  if (name == "get") {
    return Value(Function([dict](const Args& a) {
      require(!a.positional.empty(), "dict.get() needs a key");
      const Value* found = a.positional[0].is_string() ? dict.as_dict().find(a.positional[0].as_string()) : nullptr;
      if (found != nullptr) return *found;
      return a.positional.size() > 1 ? a.positional[1] : Value::none();
    }));
  }
  return Value();
}

// Python's slice.indices(): clamps start/stop for a sequence of `n` items.
void slice_bounds(int64_t n, const Value& start, const Value& stop, int64_t step, int64_t& lo, int64_t& hi) {
  const auto clamp = [&](const Value& v, int64_t fallback) {
    if (v.is_undefined() || v.is_none()) return fallback;
    int64_t i = v.as_int();
    if (i < 0) i += n;
    if (step > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  lo = clamp(start, step > 0 ? 0 : n - 1);
  hi = clamp(stop, step > 0 ? n : -1);
}

}  // namespace

void SizeLimit::check(size_t bytes, const char* what) const {
  require(bytes <= max_bytes, "{} would build a string of more than {} bytes (the output size limit)", what, max_bytes);
}

void SizeLimit::charge(size_t bytes) const {
  if (steps == nullptr) return;
  *steps += static_cast<int64_t>(bytes / kStepBytes);
  require(*steps <= max_steps,
          "the template ran more than {} steps (an endless or runaway loop? building {} bytes counts as one step)",
          max_steps, kStepBytes);
}

std::string strip(const std::string& s, const std::string* chars, bool left, bool right) {
  const auto drop = [&](char c) { return chars == nullptr ? is_py_space(c) : chars->find(c) != std::string::npos; };
  size_t b = 0, e = s.size();
  if (left) {
    while (b < e && drop(s[b])) ++b;
  }
  if (right) {
    while (e > b && drop(s[e - 1])) --e;
  }
  return s.substr(b, e - b);
}

Value get_attribute(const Value& obj, const std::string& name, const SizeLimit& limit) {
  require(!obj.is_undefined(), "cannot read attribute '{}' of an undefined value", name);
  if (obj.is_dict()) {
    if (!obj.as_dict().is_namespace) {
      Value method = dict_method(obj, name);
      if (!method.is_undefined()) return method;
    }
    const Value* found = obj.as_dict().find(name);
    return found != nullptr ? *found : Value();
  }
  if (obj.is_string()) return string_method(obj.as_string(), name, limit);
  return Value();
}

Value get_item(const Value& obj, const Value& key) {
  require(!obj.is_undefined(), "cannot index an undefined value with [{}]", key.repr());
  if (obj.is_dict()) {
    const Value* found = obj.as_dict().find(key.str());
    return found != nullptr ? *found : Value();
  }
  if ((obj.is_list() || obj.is_string()) && key.is_number() && key.kind() != Value::Kind::Float) {
    const int64_t n = length_of(obj);
    int64_t i = key.as_int();
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value();
    if (obj.is_list()) return obj.as_list()[static_cast<size_t>(i)];
    const std::vector<size_t> cps = code_point_offsets(obj.as_string());
    return Value(obj.as_string().substr(cps[static_cast<size_t>(i)],
                                        cps[static_cast<size_t>(i) + 1] - cps[static_cast<size_t>(i)]));
  }
  return Value();
}

Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step_value) {
  require(obj.is_list() || obj.is_string(), "cannot slice a value of type {}", obj.type_name());
  const int64_t step = step_value.is_undefined() || step_value.is_none() ? 1 : step_value.as_int();
  require(step != 0, "slice step cannot be zero");
  const int64_t n = length_of(obj);
  int64_t lo = 0, hi = 0;
  slice_bounds(n, start, stop, step, lo, hi);
  std::vector<int64_t> picks;
  for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step) picks.push_back(i);
  if (obj.is_list()) {
    List out;
    for (const int64_t i : picks) out.push_back(obj.as_list()[static_cast<size_t>(i)]);
    return Value(std::move(out));
  }
  const std::vector<size_t> cps = code_point_offsets(obj.as_string());
  std::string out;
  for (const int64_t i : picks) {
    const auto u = static_cast<size_t>(i);
    out.append(obj.as_string(), cps[u], cps[u + 1] - cps[u]);
  }
  return Value(std::move(out));
}

List iterate(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::Undefined:
      return {};
    case Value::Kind::Array:
      return value.as_list();
    case Value::Kind::Map: {
      List keys;
      for (const auto& entry : value.as_dict().entries) keys.emplace_back(entry.first);
      return keys;
    }
    case Value::Kind::String: {
      const std::string& s = value.as_string();
      const std::vector<size_t> cps = code_point_offsets(s);
      List chars;
      for (size_t i = 0; i + 1 < cps.size(); ++i) chars.emplace_back(s.substr(cps[i], cps[i + 1] - cps[i]));
      return chars;
    }
    default:
      fail("'{}' object is not iterable", value.type_name());
  }
}

int64_t length_of(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::Undefined:
      return 0;
    case Value::Kind::String:
      return static_cast<int64_t>(code_point_offsets(value.as_string()).size() - 1);
    case Value::Kind::Array:
      return static_cast<int64_t>(value.as_list().size());
    case Value::Kind::Map:
      return static_cast<int64_t>(value.as_dict().entries.size());
    default:
      fail("object of type '{}' has no len()", value.type_name());
  }
}

}  // namespace flux::engine::jinja
