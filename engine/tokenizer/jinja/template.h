// A compiled Jinja template: parse once, render many times with different variables. The subset and the behaviour
// follow jinja2 as transformers configures it for chat templates (docs/chat-templates.md).
#pragma once

#include <memory>
#include <string>

#include "engine/tokenizer/jinja/ast.h"
#include "engine/tokenizer/jinja/evaluator.h"

namespace flux::engine::jinja {

class Template {
 public:
  // Throws Error "template:LINE:COLUMN: ..." on a syntax error or a filter or test the interpreter does not have.
  static Template compile(const std::string& source);

  // `variables` are the template's globals; the interpreter adds range(), namespace() and dict(). Throws Error on a
  // render error or a limit reached; never returns partial output.
  std::string render(const Dict& variables, const RenderLimits& limits = {}) const;

 private:
  std::shared_ptr<const Body> body_;
};

}  // namespace flux::engine::jinja
