// jinja2's built-in filters and tests, and the Python methods and indexing of str, list and dict that chat templates
// call; all are free functions of values, shared by the evaluator and by filters that take a test or filter name.
#pragma once

#include <cstdint>
#include <string>

#include "engine/tokenizer/jinja/value.h"

namespace flux::engine::jinja {

// Every string these build is checked against this size so a hostile `'x' * 10**12` ends in an Error, not OOM.
// Building also costs steps (one per kStepBytes bytes) so a loop that copies a growing string stays bounded in time:
// `{% set s = s ~ 'x' %}` a million times copies half a terabyte with every value under the size limit.
struct SizeLimit {
  static constexpr size_t kStepBytes = 64;
  size_t max_bytes = size_t{4} << 20;
  int64_t* steps = nullptr;  // the render's step counter (none: building is free)
  int64_t max_steps = 0;
  void check(size_t bytes, const char* what) const;
  // Counts `bytes` just built (copied) against the step budget.
  void charge(size_t bytes) const;
};

bool is_filter(const std::string& name);
bool is_test(const std::string& name);

// Throws Error "unknown filter 'name'" / "unknown test 'name'" or on bad arguments.
Value apply_filter(const std::string& name, const Value& subject, const Args& args, const SizeLimit& limit);
bool apply_test(const std::string& name, const Value& subject, const Args& args);

// `obj.name`: a dict's methods (items, keys, values, get) before its keys, then its keys; a str's methods; undefined
// when absent. Throws Error on an undefined `obj`, as jinja2 does.
Value get_attribute(const Value& obj, const std::string& name, const SizeLimit& limit);
// `obj[key]`: list/str index (negative from the end), dict key; undefined when absent; Error on an undefined `obj`.
Value get_item(const Value& obj, const Value& key);
// `obj[start:stop:step]` for lists and strings, Python semantics (negative steps included).
Value get_slice(const Value& obj, const Value& start, const Value& stop, const Value& step);

// The items a `for` loop visits: list items, dict keys, str code points; nothing for undefined; Error otherwise.
List iterate(const Value& value);
// len(): code points of a str, items of a list or dict, 0 for undefined.
int64_t length_of(const Value& value);

// Python's str.strip(chars) family (chars empty: whitespace).
std::string strip(const std::string& s, const std::string* chars, bool left, bool right);

}  // namespace flux::engine::jinja
