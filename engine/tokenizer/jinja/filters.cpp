// jinja2's built-in filters (`x | trim`, `x | tojson(indent=2)`, ...), builtins.h; tojson as transformers overrides
// it (json.dumps with ensure_ascii=False, no HTML escaping).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <string_view>

#include "engine/core/error.h"
#include "engine/tokenizer/jinja/builtins.h"

namespace flux::engine::jinja {
namespace {

std::string ascii_case(std::string s, bool upper) {
  for (char& c : s) c = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(c));
  return s;
}

// jinja2's title: each word (split after '-', whitespace, '(', '{', '[', '<') gets an upper first letter.
std::string title(const std::string& s) {
  std::string out = s;
  bool word_start = true;
  for (char& c : out) {
    const bool separator = c == '-' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '(' || c == '{' ||
                           c == '[' || c == '<' || c == '\v' || c == '\f';
    if (separator) {
      word_start = true;
    } else {
      c = static_cast<char>(word_start ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(c));
      word_start = false;
    }
  }
  return out;
}

// `attribute` may be dotted ("function.name") or an index ("0"), as in jinja2's make_attrgetter.
Value attribute_of(const Value& item, const std::string& attribute, const SizeLimit& limit) {
  Value v = item;
  size_t start = 0;
  while (true) {
    const size_t dot = attribute.find('.', start);
    const std::string part = attribute.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (v.is_undefined()) return v;
    const bool digits =
        !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    // jinja2's getitem: the item first (dict key, list index), then the attribute (a str method).
    if (digits) {
      v = get_item(v, Value(static_cast<int64_t>(std::stoll(part))));
    } else if (v.is_dict()) {
      v = get_item(v, Value(part));
    } else {
      v = get_attribute(v, part, limit);
    }
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

Args tail_args(const Args& args, size_t from) {
  Args rest;
  for (size_t i = from; i < args.positional.size(); ++i) rest.positional.push_back(args.positional[i]);
  rest.named = args.named;
  return rest;
}

List select(const Value& seq, const Args& args, bool by_attribute, bool keep, const SizeLimit& limit) {
  List out;
  const size_t test_at = by_attribute ? 1 : 0;
  std::string attribute;
  if (by_attribute) {
    const Value* a = args.get(0, "attribute");
    require(a != nullptr, "selectattr/rejectattr needs an attribute name");
    attribute = a->str();
  }
  const Value* test = args.positional.size() > test_at ? &args.positional[test_at] : nullptr;
  const Args test_args = tail_args(args, test_at + 1);
  for (const Value& item : iterate(seq)) {
    const Value subject = by_attribute ? attribute_of(item, attribute, limit) : item;
    const bool pass = test == nullptr ? subject.truthy() : apply_test(test->str(), subject, test_args);
    if (pass == keep) out.push_back(item);
  }
  return out;
}

Value map(const Value& seq, const Args& args, const SizeLimit& limit) {
  List out;
  const Value* attribute = nullptr;
  for (const auto& [k, v] : args.named) {
    if (k == "attribute") attribute = &v;
  }
  if (attribute != nullptr) {
    const Value* fallback = nullptr;
    for (const auto& [k, v] : args.named) {
      if (k == "default") fallback = &v;
    }
    for (const Value& item : iterate(seq)) {
      Value v = attribute_of(item, attribute->str(), limit);
      out.push_back(v.is_undefined() && fallback != nullptr ? *fallback : v);
    }
    return Value(std::move(out));
  }
  require(!args.positional.empty(), "map needs a filter name or attribute=");
  const std::string filter = args.positional[0].str();
  const Args rest = tail_args(args, 1);
  for (const Value& item : iterate(seq)) out.push_back(apply_filter(filter, item, rest, limit));
  return Value(std::move(out));
}

Value to_int(const Value& v, const Args& args) {
  const Value* fallback = args.get(0, "default");
  const Value def = fallback != nullptr ? *fallback : Value(int64_t{0});
  if (v.is_number()) return Value(v.as_int());
  if (v.is_string()) {
    const std::string s = strip(v.as_string(), nullptr, true, true);
    try {
      size_t used = 0;
      const long long i = std::stoll(s, &used);
      if (used == s.size()) return Value(static_cast<int64_t>(i));
      const double f = std::stod(s, &used);
      if (used == s.size() && std::isfinite(f)) return Value(static_cast<int64_t>(f));
    } catch (const std::exception&) {
    }
  }
  return def;
}

Value to_float(const Value& v, const Args& args) {
  const Value* fallback = args.get(0, "default");
  if (v.is_number()) return Value(v.as_float());
  if (v.is_string()) {
    try {
      size_t used = 0;
      const std::string s = strip(v.as_string(), nullptr, true, true);
      const double f = std::stod(s, &used);
      if (used == s.size()) return Value(f);
    } catch (const std::exception&) {
    }
  }
  return fallback != nullptr ? *fallback : Value(0.0);
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (const char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

Value sorted(const Value& v, const Args& args, const SizeLimit& limit) {
  List items = iterate(v);
  const Value* reverse = args.get(0, "reverse");
  const Value* case_sensitive = args.get(1, "case_sensitive");
  const Value* attribute = args.get(2, "attribute");
  const bool fold = case_sensitive == nullptr || !case_sensitive->truthy();
  const auto key = [&](const Value& item) {
    Value k = attribute != nullptr ? attribute_of(item, attribute->str(), limit) : item;
    return fold && k.is_string() ? Value(ascii_case(k.as_string(), false)) : k;
  };
  std::stable_sort(items.begin(), items.end(),
                   [&](const Value& a, const Value& b) { return less_than(key(a), key(b)); });
  if (reverse != nullptr && reverse->truthy()) std::reverse(items.begin(), items.end());
  return Value(std::move(items));
}

}  // namespace

bool is_filter(const std::string& name) {
  static constexpr std::string_view names[] = {
      "trim",   "tojson", "length", "count", "upper",      "lower",      "capitalize", "title",   "replace", "default",
      "d",      "first",  "last",   "join",  "selectattr", "rejectattr", "select",     "reject",  "map",     "list",
      "string", "int",    "float",  "items", "abs",        "reverse",    "sort",       "unique",  "min",     "max",
      "sum",    "safe",   "escape", "e",     "attr",       "round",      "wordcount",  "dictsort"};
  for (const std::string_view n : names) {
    if (n == name) return true;
  }
  return false;
}

Value apply_filter(const std::string& name, const Value& v, const Args& args, const SizeLimit& limit) {
  if (name == "trim") {
    const Value* chars = args.get(0, "chars");
    const std::string set = chars != nullptr && chars->is_string() ? chars->as_string() : std::string();
    return Value(strip(v.str(), chars != nullptr && chars->is_string() ? &set : nullptr, true, true));
  }
  if (name == "tojson") {
    const Value* indent = args.get(0, "indent");
    std::string json =
        to_json(v, indent != nullptr && !indent->is_none() ? static_cast<int>(indent->as_int()) : -1, limit.max_bytes);
    limit.charge(json.size());
    return Value(std::move(json));
  }
  if (name == "length" || name == "count") return Value(length_of(v));
  if (name == "upper" || name == "lower") return Value(ascii_case(v.str(), name == "upper"));
  if (name == "capitalize") {
    std::string s = ascii_case(v.str(), false);
    if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
    return Value(std::move(s));
  }
  if (name == "title") return Value(title(v.str()));
  if (name == "replace") {
    const Value* count = args.get(2, "count");
    return get_attribute(Value(v.str()), "replace", limit)
        .as_function()(
            Args{{args.get(0, "old") ? *args.get(0, "old") : Value(),
                  args.get(1, "new") ? *args.get(1, "new") : Value(), count != nullptr ? *count : Value(int64_t{-1})},
                 {}});
  }
  if (name == "default" || name == "d") {
    const Value* fallback = args.get(0, "default_value");
    const Value* boolean = args.get(1, "boolean");
    const bool use = v.is_undefined() || (boolean != nullptr && boolean->truthy() && !v.truthy());
    return use ? (fallback != nullptr ? *fallback : Value("")) : v;
  }
  if (name == "first" || name == "last") {
    const List items = iterate(v);
    if (items.empty()) return Value();
    return name == "first" ? items.front() : items.back();
  }
  if (name == "join") {
    const Value* sep = args.get(0, "d");
    const Value* attribute = args.get(1, "attribute");
    std::string out;
    const List items = iterate(v);
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0 && sep != nullptr) out += sep->str(limit.max_bytes);
      out += (attribute != nullptr ? attribute_of(items[i], attribute->str(), limit) : items[i]).str(limit.max_bytes);
      limit.check(out.size(), "join");
    }
    limit.charge(out.size());
    return Value(std::move(out));
  }
  if (name == "selectattr" || name == "rejectattr") return Value(select(v, args, true, name == "selectattr", limit));
  if (name == "select" || name == "reject") return Value(select(v, args, false, name == "select", limit));
  if (name == "map") return map(v, args, limit);
  if (name == "list") return Value(iterate(v));
  if (name == "string") return Value(v.str(limit.max_bytes));
  if (name == "int") return to_int(v, args);
  if (name == "float") return to_float(v, args);
  if (name == "items") {
    List out;
    if (v.is_undefined()) return Value(std::move(out));
    require(v.is_dict(), "items needs a mapping, got {}", v.type_name());
    for (const auto& [k, item] : v.as_dict().entries) out.emplace_back(List{Value(k), item});
    return Value(std::move(out));
  }
  if (name == "dictsort") {
    Value pairs = apply_filter("items", v, {}, limit);
    std::stable_sort(pairs.as_list().begin(), pairs.as_list().end(), [](const Value& a, const Value& b) {
      return ascii_case(a.as_list()[0].str(), false) < ascii_case(b.as_list()[0].str(), false);
    });
    return pairs;
  }
  if (name == "abs") {
    require(v.is_number(), "abs needs a number, got {}", v.type_name());
    return v.kind() == Value::Kind::Float ? Value(std::fabs(v.as_float()))
                                          : Value(static_cast<int64_t>(std::llabs(v.as_int())));
  }
  if (name == "round") {
    const Value* precision = args.get(0, "precision");
    const double scale = std::pow(10.0, precision != nullptr ? static_cast<double>(precision->as_int()) : 0.0);
    return Value(std::round(v.as_float() * scale) / scale);
  }
  if (name == "reverse") {
    if (v.is_string()) return get_slice(v, Value(), Value(), Value(int64_t{-1}));
    List items = iterate(v);
    std::reverse(items.begin(), items.end());
    return Value(std::move(items));
  }
  if (name == "sort") return sorted(v, args, limit);
  if (name == "unique") {
    List out;
    for (const Value& item : iterate(v)) {
      if (std::none_of(out.begin(), out.end(), [&](const Value& o) { return equals(o, item); })) out.push_back(item);
    }
    return Value(std::move(out));
  }
  if (name == "min" || name == "max") {
    const List items = iterate(v);
    if (items.empty()) return Value();
    Value best = items.front();
    for (const Value& item : items) {
      if (name == "min" ? less_than(item, best) : less_than(best, item)) best = item;
    }
    return best;
  }
  if (name == "sum") {
    const Value* attribute = args.get(0, "attribute");
    const Value* start = args.get(1, "start");
    Value total = start != nullptr ? *start : Value(int64_t{0});
    for (const Value& item : iterate(v)) {
      const Value x = attribute != nullptr ? attribute_of(item, attribute->str(), limit) : item;
      require(x.is_number() && total.is_number(), "sum needs numbers, got {}", x.type_name());
      total = total.kind() == Value::Kind::Float || x.kind() == Value::Kind::Float
                  ? Value(total.as_float() + x.as_float())
                  : Value(total.as_int() + x.as_int());
    }
    return total;
  }
  if (name == "wordcount")
    return Value(
        static_cast<int64_t>(get_attribute(Value(v.str()), "split", limit).as_function()({}).as_list().size()));
  if (name == "safe") return v;
  if (name == "escape" || name == "e") return Value(html_escape(v.str()));
  if (name == "attr") {
    const Value* a = args.get(0, "name");
    require(a != nullptr, "attr needs a name");
    return get_attribute(v, a->str(), limit);
  }
  fail("unknown filter '{}'", name);
}

}  // namespace flux::engine::jinja
