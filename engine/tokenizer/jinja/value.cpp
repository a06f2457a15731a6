#include "engine/tokenizer/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "engine/core/error.h"

namespace flux::engine::jinja {
namespace {

// Python's float repr: the shortest round-trip digits, positional for exponents in [-4, 16), else "1e+16" style.
std::string float_repr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const bool negative = sci[0] == '-';
  const size_t lead = negative ? 1 : 0;
  const size_t e = sci.find('e');
  std::string digits;
  digits += sci[lead];
  if (e > lead + 2) digits.append(sci, lead + 2, e - lead - 2);
  const int exponent = std::stoi(sci.substr(e + 1));
  std::string out;
  if (negative) out += '-';
  if (exponent >= -4 && exponent < 16) {
    const int point = exponent + 1;  // digits before the decimal point
    if (point <= 0) {
      out.append("0.");
      out.append(static_cast<size_t>(-point), '0');
      out.append(digits);
    } else if (static_cast<size_t>(point) >= digits.size()) {
      out.append(digits);
      out.append(static_cast<size_t>(point) - digits.size(), '0');
      out.append(".0");
    } else {
      out.append(digits, 0, static_cast<size_t>(point));
      out += '.';
      out.append(digits, static_cast<size_t>(point));
    }
  } else {
    out += digits[0];
    if (digits.size() > 1) {
      out += '.';
      out.append(digits, 1);
    }
    out.append(fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent)));
  }
  return out;
}

std::string string_repr(const std::string& s) {
  const bool double_quote = s.find('\'') != std::string::npos && s.find('"') == std::string::npos;
  const char quote = double_quote ? '"' : '\'';
  std::string out(1, quote);
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  return out + quote;
}

void json_string(const std::string& s, std::string& out) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (u < 0x20) {
          out += fmt::format("\\u{:04x}", u);
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

// Printing stops at `max_bytes`: a list that repeats one big string (or a list of lists) is small to hold but huge to
// print, so the size is checked while the text grows, never after.
void check_printed(const std::string& out, size_t max_bytes, const char* what) {
  require(out.size() <= max_bytes, "printing {} would build a string of more than {} bytes (the output size limit)",
          what, max_bytes);
}

void json_into(const Value& v, int indent, int depth, std::string& out, size_t max_bytes) {
  require(depth < 128, "tojson: value nested deeper than 128 levels (a namespace that contains itself?)");
  const auto newline = [&](int level) {
    const auto pad = static_cast<uint64_t>(indent) * static_cast<uint64_t>(level);
    require(pad <= max_bytes - std::min(max_bytes, out.size()),
            "tojson: an indent of {} would build a string of more than {} bytes (the output size limit)", indent,
            max_bytes);
    out += '\n';
    out.append(static_cast<size_t>(pad), ' ');
  };
  // Python's separators: ", " and ": " without indent, "," and ": " with it.
  const char* item_sep = indent < 0 ? ", " : ",";
  switch (v.kind()) {
    case Value::Kind::Undefined:
      fail("tojson: Object of type Undefined is not JSON serializable");
    case Value::Kind::Callable:
      fail("tojson: a function is not JSON serializable");
    case Value::Kind::None:
      out += "null";
      return;
    case Value::Kind::Bool:
      out += v.as_bool() ? "true" : "false";
      return;
    case Value::Kind::Int:
      out += std::to_string(v.as_int());
      return;
    case Value::Kind::Float: {
      const double f = v.as_float();
      out += std::isnan(f) ? "NaN" : std::isinf(f) ? (f > 0 ? "Infinity" : "-Infinity") : float_repr(f);
      return;
    }
    case Value::Kind::String:
      json_string(v.as_string(), out);
      return;
    case Value::Kind::Array: {
      const List& list = v.as_list();
      if (list.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < list.size(); ++i) {
        if (i > 0) out += item_sep;
        if (indent >= 0) newline(depth + 1);
        json_into(list[i], indent, depth + 1, out, max_bytes);
        check_printed(out, max_bytes, "a list as JSON");
      }
      if (indent >= 0) newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::Map: {
      const Dict& dict = v.as_dict();
      if (dict.entries.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (size_t i = 0; i < dict.entries.size(); ++i) {
        if (i > 0) out += item_sep;
        if (indent >= 0) newline(depth + 1);
        json_string(dict.entries[i].first, out);
        out += ": ";
        json_into(dict.entries[i].second, indent, depth + 1, out, max_bytes);
        check_printed(out, max_bytes, "a dict as JSON");
      }
      if (indent >= 0) newline(depth);
      out += '}';
      return;
    }
  }
}

}  // namespace

const Value* Dict::find(const std::string& key) const {
  for (const auto& [k, v] : entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Dict::set(const std::string& key, Value value) {
  for (auto& [k, v] : entries) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  entries.emplace_back(key, std::move(value));
}

const Value* Args::get(size_t index, const std::string& name) const {
  if (index < positional.size()) return &positional[index];
  for (const auto& [k, v] : named) {
    if (k == name) return &v;
  }
  return nullptr;
}

Value Value::none() {
  Value v;
  v.data_ = NoneTag{};
  return v;
}

int64_t Value::as_int() const {
  switch (kind()) {
    case Kind::Bool:
      return as_bool() ? 1 : 0;
    case Kind::Int:
      return std::get<int64_t>(data_);
    case Kind::Float:
      return static_cast<int64_t>(std::get<double>(data_));
    default:
      fail("expected a number, got {}", type_name());
  }
}

double Value::as_float() const {
  if (kind() == Kind::Float) return std::get<double>(data_);
  return static_cast<double>(as_int());
}

bool Value::truthy() const {
  switch (kind()) {
    case Kind::Undefined:
    case Kind::None:
      return false;
    case Kind::Bool:
      return as_bool();
    case Kind::Int:
      return as_int() != 0;
    case Kind::Float:
      return as_float() != 0.0;
    case Kind::String:
      return !as_string().empty();
    case Kind::Array:
      return !as_list().empty();
    case Kind::Map:
      return !as_dict().entries.empty();
    case Kind::Callable:
      return true;
  }
  return false;
}

std::string Value::str(size_t max_bytes) const {
  switch (kind()) {
    case Kind::Undefined:
      return "";
    case Kind::String:
      return as_string();
    default:
      return repr(max_bytes);
  }
}

std::string Value::repr(size_t max_bytes) const {
  return repr_at(0, max_bytes);
}

std::string Value::repr_at(int depth, size_t max_bytes) const {
  require(depth < 128, "value nested deeper than 128 levels (a namespace that contains itself?)");
  switch (kind()) {
    case Kind::Undefined:
      return "";
    case Kind::None:
      return "None";
    case Kind::Bool:
      return as_bool() ? "True" : "False";
    case Kind::Int:
      return std::to_string(as_int());
    case Kind::Float:
      return float_repr(as_float());
    case Kind::String:
      return string_repr(as_string());
    case Kind::Array: {
      std::string out = "[";
      for (size_t i = 0; i < as_list().size(); ++i) {
        out += (i ? ", " : "") + as_list()[i].repr_at(depth + 1, max_bytes);
        check_printed(out, max_bytes, "a list");
      }
      return out + "]";
    }
    case Kind::Map: {
      std::string out = "{";
      for (size_t i = 0; i < as_dict().entries.size(); ++i) {
        const auto& [k, v] = as_dict().entries[i];
        out += (i ? ", " : "") + string_repr(k) + ": " + v.repr_at(depth + 1, max_bytes);
        check_printed(out, max_bytes, "a dict");
      }
      return out + "}";
    }
    case Kind::Callable:
      return "<function>";
  }
  return "";
}

std::string Value::type_name() const {
  static const char* const names[] = {"undefined", "NoneType", "bool", "int",     "float",
                                      "str",       "list",     "dict", "function"};
  return names[static_cast<int>(kind())];
}

Value Value::from_json(const nlohmann::ordered_json& json) {
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null:
      return none();
    case nlohmann::ordered_json::value_t::boolean:
      return Value(json.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
    case nlohmann::ordered_json::value_t::number_unsigned:
      return Value(json.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_float:
      return Value(json.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value(json.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List list;
      for (const auto& item : json) list.push_back(from_json(item));
      return Value(std::move(list));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict dict;
      for (const auto& [k, v] : json.items()) dict.set(k, from_json(v));
      return Value(std::move(dict));
    }
    default:
      return Value();
  }
}

bool equals(const Value& a, const Value& b) {
  using K = Value::Kind;
  if (a.is_number() && b.is_number()) {
    if (a.kind() == K::Float || b.kind() == K::Float) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case K::Undefined:
    case K::None:
      return true;
    case K::String:
      return a.as_string() == b.as_string();
    case K::Array: {
      const List &x = a.as_list(), &y = b.as_list();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!equals(x[i], y[i])) return false;
      }
      return true;
    }
    case K::Map: {
      const Dict &x = a.as_dict(), &y = b.as_dict();
      if (x.entries.size() != y.entries.size()) return false;
      for (const auto& [k, v] : x.entries) {
        const Value* other = y.find(k);
        if (other == nullptr || !equals(v, *other)) return false;
      }
      return true;
    }
    case K::Callable:
      return &a.as_function() == &b.as_function();
    default:
      return false;
  }
}

bool less_than(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind() == Value::Kind::Float || b.kind() == Value::Kind::Float) return a.as_float() < b.as_float();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();  // UTF-8 bytes order = code point order
  if (a.is_list() && b.is_list()) {
    const List &x = a.as_list(), &y = b.as_list();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equals(x[i], y[i])) return less_than(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  fail("'<' not supported between instances of '{}' and '{}'", a.type_name(), b.type_name());
}

std::string to_json(const Value& value, int indent, size_t max_bytes) {
  std::string out;
  json_into(value, indent, 0, out, max_bytes);
  return out;
}

size_t built_size(const List& items) {
  size_t size = items.size();
  for (const Value& v : items) {
    if (v.is_string()) size += v.as_string().size();
  }
  return size;
}

std::vector<size_t> code_point_offsets(const std::string& s) {
  std::vector<size_t> offsets;
  offsets.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) offsets.push_back(i);
  }
  offsets.push_back(s.size());
  return offsets;
}

}  // namespace flux::engine::jinja
