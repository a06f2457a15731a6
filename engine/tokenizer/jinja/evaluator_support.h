// Internal to the evaluator's two files: errors located at the failing node, and the nesting counter.
#pragma once

#include <exception>
#include <new>
#include <string>

#include "engine/core/error.h"

namespace flux::engine::jinja::detail {

// Errors carry the position of the innermost node that failed; outer nodes pass them on unchanged.
[[noreturn]] inline void rethrow_located(int line, int column) {
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

// Counts one level of evaluation nesting for as long as it lives.
struct Nest {
  Nest(int& counter, int max) : depth(counter) {
    require(++depth <= max, "the template nests evaluation deeper than {} levels", max);
  }
  ~Nest() { --depth; }
  int& depth;
};

}  // namespace flux::engine::jinja::detail
