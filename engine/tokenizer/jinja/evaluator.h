// Renders a parsed template: scopes, statements, expressions and macros, under limits that bound the work any
// template can cause (evaluation steps, nesting of macro calls, output size).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/tokenizer/jinja/ast.h"
#include "engine/tokenizer/jinja/builtins.h"

namespace flux::engine::jinja {

struct RenderLimits {
  size_t max_output_bytes = size_t{4} << 20;  // the rendered text and every string built on the way
  int64_t max_steps = 20'000'000;             // expressions evaluated + statements run + loop iterations
  int max_call_depth = 64;                    // nested macro calls (recursion)
  int max_nesting = 1000;                     // nested evaluation frames: bounds the C++ stack a render uses
};

class Evaluator {
 public:
  // `globals`: the variables and functions the template sees at its top level.
  Evaluator(const RenderLimits& limits, const Dict& globals);

  // Throws Error "template:LINE:COLUMN: ..." on a render error or a limit reached.
  std::string render(const Body& body);

 private:
  enum class Flow { Normal, Break, Continue };
  using Scope = std::unordered_map<std::string, Value>;

  Flow exec_body(const Body& body, std::string& out);
  Flow exec(const Node& node, std::string& out);
  Flow exec_for(const Node& node, std::string& out);
  void exec_set(const Node& node);
  Value make_macro(const Node& node);
  // Weak: a macro is stored in the scope it captures, and a strong capture would be a reference cycle.
  using WeakScopes = std::vector<std::weak_ptr<Scope>>;
  Value call_macro(const Node& node, const WeakScopes& defined_in, const Args& args, const Value& caller);
  // Renders `body` in the scopes `captured` (those still alive, under the root) plus a fresh one that `bind` fills
  // with the arguments; the current scopes come back afterwards, on errors too.
  std::string run_in(const WeakScopes& captured, const Body& body, const std::function<void()>& bind);

  Value eval(const Expr& e);
  Value eval_binary(const Expr& e);
  Value eval_compare(const Expr& e);
  Args eval_args(const Expr& e, size_t first);

  Value lookup(const std::string& name) const;
  void assign(const std::string& name, Value value);
  void append_output(std::string& out, const std::string& text) const;
  void step();

  RenderLimits limits_;
  SizeLimit size_limit_;
  std::shared_ptr<Scope> root_;                 // the globals and top-level sets
  std::vector<std::shared_ptr<Scope>> scopes_;  // innermost last; [0] is root_
  int64_t steps_ = 0;
  int call_depth_ = 0;
  int nesting_ = 0;
};

}  // namespace flux::engine::jinja
