// Bad and hostile templates end in a clear engine Error with the template position, within bounded work: syntax
// errors, unknown names, endless loops, runaway recursion, deep nesting and huge outputs.
#include <gtest/gtest.h>

#include <chrono>

#include "engine/tokenizer/chat_template_jinja.h"
#include "engine/tokenizer/jinja/template.h"
#include "tests/engine/support/error_of.h"

using namespace flux::engine;
using flux::test::error_of;

namespace {

std::string compile_error(const std::string& source) {
  return error_of([&] { jinja::Template::compile(source); });
}

std::string render_error(const std::string& source, const jinja::RenderLimits& limits = {}) {
  return error_of([&] { jinja::Template::compile(source).render({}, limits); });
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

TEST(JinjaErrors, SyntaxErrorsNameLineAndColumn) {
  EXPECT_EQ(compile_error("ok\n{{ 1 + }}"), "template:2:8: unexpected end of expression");
  EXPECT_ERROR(compile_error("{% if x %}never closed"), "missing '{% endif %}'");
  EXPECT_ERROR(compile_error("a\n\n  {% frobnicate %}"), "template:3:6: unknown tag 'frobnicate'");
  EXPECT_ERROR(compile_error("{{ 'unterminated }}"), "template:1:4: unterminated string literal");
  EXPECT_ERROR(compile_error("{# no end"), "unterminated comment");
  EXPECT_ERROR(compile_error("{{ x"), "unterminated '{{'");
  EXPECT_ERROR(compile_error("{{ x ; y }}"), "unexpected character ';'");
  EXPECT_ERROR(compile_error("{% for x in %}{% endfor %}"), "template:1:13:");
  EXPECT_ERROR(compile_error("{{ 99999999999999999999 }}"), "integer literal out of range");
}

TEST(JinjaErrors, UnknownFilterOrTestAtCompileTime) {
  // As in jinja2: even in a branch that never runs.
  EXPECT_EQ(compile_error("{% if false %}{{ x | frob }}{% endif %}"), "template:1:22: unknown filter 'frob'");
  EXPECT_ERROR(compile_error("{{ x is frobbed }}"), "unknown test 'frobbed'");
}

TEST(JinjaErrors, RenderErrorsNameThePosition) {
  EXPECT_ERROR(render_error("line1\n{{ 1 // 0 }}"), "template:2:");
  EXPECT_ERROR(render_error("{{ 1 // 0 }}"), "division or modulo by zero");
  EXPECT_ERROR(render_error("{{ 'a' + 1 }}"), "unsupported operand types for +: 'str' and 'int'");
  EXPECT_ERROR(render_error("{{ 9223372036854775807 + 1 }}"), "integer overflow");
  EXPECT_ERROR(render_error("{% for x in 5 %}{% endfor %}"), "'int' object is not iterable");
  EXPECT_ERROR(render_error("{{ undefined_fn() }}"), "'undefined_fn' is undefined");
  EXPECT_ERROR(render_error("{{ {'a': 1} | tojson }}{{ u | tojson }}"), "not JSON serializable");
}

TEST(JinjaErrors, EndlessLoopsStopAtTheStepBudget) {
  jinja::RenderLimits limits;
  limits.max_steps = 200'000;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_ERROR(render_error("{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}"
                            "{% endfor %}{% endfor %}{% endfor %}",
                            limits),
               "more than 200000 steps");
  EXPECT_ERROR(render_error("{{ range(100000000) | length }}"), "range() of 100000000 items");
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ measure ] runaway loops stopped after %.1f ms\n", ms);
}

TEST(JinjaErrors, RecursionAndNestingAreBounded) {
  EXPECT_ERROR(render_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"),
               "macro 'f' nested more than 64 calls deep");
  EXPECT_ERROR(compile_error("{{ " + repeat("(", 5000) + "1" + repeat(")", 5000) + " }}"),
               "nesting deeper than 100 levels");
  EXPECT_ERROR(compile_error("{{ " + repeat("[", 5000) + repeat("]", 5000) + " }}"), "nesting deeper than");
  EXPECT_ERROR(compile_error(repeat("{% if true %}", 5000)), "nesting deeper than");
  EXPECT_ERROR(compile_error("{{ " + repeat("not ", 5000) + "x }}"), "nesting deeper than");
  EXPECT_ERROR(compile_error("{{ " + repeat("-", 5000) + "1 }}"), "nesting deeper than");
  // A namespace cannot hold itself (a reference cycle would leak and print forever), directly or through another.
  EXPECT_ERROR(render_error("{% set ns = namespace() %}{% set ns.me = ns %}"), "a namespace cannot contain itself");
  EXPECT_ERROR(render_error("{% set a = namespace() %}{% set b = namespace(x=[a]) %}{% set a.b = b %}"),
               "cannot assign 'a.b'");
  EXPECT_ERROR(render_error("{% set ns = namespace(v=1) %}{% for i in range(200) %}{% set ns.v = [ns.v] %}{% endfor %}"
                            "{{ ns.v | tojson }}"),
               "nested deeper than 128");
}

TEST(JinjaErrors, HugeOutputsStopAtTheSizeLimit) {
  jinja::RenderLimits limits;
  limits.max_output_bytes = 1 << 20;
  EXPECT_ERROR(render_error("{{ 'x' * 1000000000000 }}", limits), "output size limit");
  EXPECT_ERROR(render_error("{% for i in range(100000) %}{{ 'abcdefghijklmnopqrstuvwxyz' }}{% endfor %}", limits),
               "the output would build a string of more than 1048576 bytes");
  EXPECT_ERROR(render_error("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
                            "{% endfor %}",
                            limits),
               "output size limit");
  EXPECT_ERROR(render_error("{{ ('ab' * 100000) | replace('', 'xxxxxxxxxx') }}", limits), "output size limit");
  EXPECT_ERROR(render_error("{{ 2 ** 100000000000 }}"), "integer overflow");
}

TEST(JinjaErrors, ChatTemplateErrorsArePrefixed) {
  EXPECT_ERROR(error_of([] { JinjaChatTemplate::compile("{% if %}"); }), "chat template: template:1:7:");
  const JinjaChatTemplate t = JinjaChatTemplate::compile("{{ messages[0].content.nope.deeper }}");
  ChatTemplateInputs in;
  in.messages = {{"user", "x"}};
  EXPECT_ERROR(error_of([&] { t.render(in); }), "chat template: template:1:");
}

TEST(JinjaErrors, RandomTemplateSoupNeverCrashes) {
  // Deterministic soup of Jinja fragments: every template either renders or ends in an Error (ASan/UBSan builds check
  // the rest); none may throw anything else.
  static const char* const pieces[] = {"{{",
                                       "}}",
                                       "{%",
                                       "%}",
                                       "{#",
                                       "#}",
                                       "{%-",
                                       "-%}",
                                       "{{-",
                                       "-}}",
                                       " if ",
                                       " for ",
                                       " in ",
                                       " else ",
                                       " endif ",
                                       " endfor ",
                                       " set ",
                                       " macro ",
                                       " endmacro ",
                                       " call ",
                                       " endcall ",
                                       "x",
                                       "ns",
                                       "loop",
                                       ".",
                                       "[",
                                       "]",
                                       "(",
                                       ")",
                                       "{",
                                       "}",
                                       ",",
                                       ":",
                                       "|",
                                       " is ",
                                       " not ",
                                       " and ",
                                       " or ",
                                       "~",
                                       "+",
                                       "-",
                                       "*",
                                       "/",
                                       "//",
                                       "%",
                                       "**",
                                       "==",
                                       "'s'",
                                       "\"q\\",
                                       "1",
                                       "-1",
                                       "2.5",
                                       "none",
                                       "true",
                                       "messages",
                                       "range(9)",
                                       "namespace(a=1)",
                                       "trim",
                                       "tojson",
                                       "length",
                                       "join",
                                       "map",
                                       "selectattr",
                                       "defined",
                                       "string",
                                       "split",
                                       "[::-1]",
                                       "'a' * 99",
                                       "text\n",
                                       "  ",
                                       "raise_exception('r')",
                                       "caller()",
                                       "loop.index",
                                       " break ",
                                       " continue ",
                                       "=",
                                       "elif",
                                       "\xC3\xA9",
                                       "\xff"};
  uint64_t state = 12345;
  const auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<size_t>(state >> 33);
  };
  jinja::RenderLimits limits;
  limits.max_steps = 100'000;
  limits.max_output_bytes = 1 << 16;
  int rendered = 0, errors = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string source;
    const size_t n = 1 + next() % 40;
    for (size_t k = 0; k < n; ++k) source += pieces[next() % (sizeof(pieces) / sizeof(pieces[0]))];
    try {
      const jinja::Template t = jinja::Template::compile(source);
      const jinja::Value vars = jinja::Value::from_json({{"messages", {{{"role", "user"}, {"content", "hi"}}}}});
      t.render(vars.as_dict(), limits);
      ++rendered;
    } catch (const Error&) {
      ++errors;
    }
  }
  std::printf("[ measure ] random templates: %d rendered, %d clear errors\n", rendered, errors);
  EXPECT_EQ(rendered + errors, 3000);
  EXPECT_GT(rendered, 0);
}
