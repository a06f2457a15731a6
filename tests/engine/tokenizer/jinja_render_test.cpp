// Unit tests of the Jinja interpreter (engine/tokenizer/jinja), one construct at a time; the expected texts follow
// jinja2 with transformers' settings (trim_blocks, lstrip_blocks, loopcontrols).
#include <gtest/gtest.h>

#include "engine/tokenizer/chat_template_jinja.h"
#include "engine/tokenizer/jinja/template.h"
#include "tests/engine/support/error_of.h"

using namespace flux::engine;
using flux::test::error_of;

namespace {

std::string render(const std::string& source, const nlohmann::ordered_json& vars = nlohmann::ordered_json::object()) {
  const jinja::Value v = jinja::Value::from_json(vars);
  return jinja::Template::compile(source).render(v.as_dict());
}

}  // namespace

TEST(JinjaRender, TextAndOutput) {
  EXPECT_EQ(render("plain"), "plain");
  EXPECT_EQ(render("a{{ x }}b", {{"x", 5}}), "a5b");
  EXPECT_EQ(render("{{ 'it''s' }}|{{ \"q\\\"\" }}|{{ 'tab\\tnl\\n' }}|{{ '\\u00e9' }}"), "its|q\"|tab\tnl\n|\xC3\xA9");
  EXPECT_EQ(render("{{ none }} {{ true }} {{ 3.0 }} {{ [1, 'a'] }} {{ {'k': none} }}"),
            "None True 3.0 [1, 'a'] {'k': None}");
}

TEST(JinjaRender, WhitespaceControlAndTransformersSettings) {
  EXPECT_EQ(render("a  {{- 'b' -}}  \n c"), "abc");
  // trim_blocks drops the newline after a block tag; lstrip_blocks the indentation before it.
  EXPECT_EQ(render("x\n  {% if true %}\n  y\n  {% endif %}\nz"), "x\n  y\nz");
  EXPECT_EQ(render("a {%- if true %} b {% endif -%} c"), "a b c");
  EXPECT_EQ(render("  {%+ if true %}k{% endif +%}\nend"), "  k\nend");
  EXPECT_EQ(render("{{ 'v' }}\nnext"), "v\nnext");  // no trim after an expression
  EXPECT_EQ(render("a{# comment #}b\n  {# own line #}\nc"), "ab\nc");
  EXPECT_EQ(render("one\r\ntwo\n"), "one\ntwo");  // newlines normalised, one trailing newline dropped
}

TEST(JinjaRender, IfElifElse) {
  const std::string t = "{% if n > 2 %}big{% elif n == 2 %}two{% else %}small{% endif %}";
  EXPECT_EQ(render(t, {{"n", 3}}), "big");
  EXPECT_EQ(render(t, {{"n", 2}}), "two");
  EXPECT_EQ(render(t, {{"n", 1}}), "small");
  EXPECT_EQ(render("{% if missing %}y{% else %}n{% endif %}"), "n");
}

TEST(JinjaRender, ForLoopVariables) {
  EXPECT_EQ(render("{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}"
                   "{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
                   {{"xs", {"a", "b"}}}),
            "1021TrueFalse2;2110FalseTrue2;");
  EXPECT_EQ(render("{% for x in [] %}y{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in [1,2,3,4] if x is even %}{{ x }}{{ loop.length }}{% endfor %}"), "2242");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}", {{"d", {{"b", 1}, {"a", 2}}}}),
            "b=1,a=2,");
  EXPECT_EQ(render("{% for c in 'h\xC3\xA9' %}[{{ c }}]{% endfor %}"), "[h][\xC3\xA9]");
  EXPECT_EQ(render("{% for i in range(9) %}{% if i == 3 %}{% break %}{% endif %}{% if i == 1 %}{% continue %}"
                   "{% endif %}{{ i }}{% endfor %}"),
            "02");
  EXPECT_EQ(render("{% for i in range(3) %}{{ loop.cycle('a', 'b') }}{% endfor %}"), "aba");
}

TEST(JinjaRender, SetScopingAndNamespace) {
  // A set inside a loop stays in the loop; a namespace attribute carries out of it.
  EXPECT_EQ(render("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}"), "1");
  EXPECT_EQ(render("{% set ns = namespace(x=1) %}{% for i in [1, 2] %}{% set ns.x = ns.x + i %}{% endfor %}{{ ns.x }}"),
            "4");
  EXPECT_EQ(render("{% if true %}{% set y = 'in if' %}{% endif %}{{ y }}"), "in if");
  EXPECT_EQ(render("{% set a, b = 'p', 'q' %}{{ b }}{{ a }}"), "qp");
  EXPECT_EQ(render("{% set block %}x{{ 1 + 1 }}y{% endset %}[{{ block }}]"), "[x2y]");
  EXPECT_ERROR(error_of([] { render("{% set d = {} %}{% set d.x = 1 %}"); }), "only a namespace()");
  // Each iteration starts afresh (jinja2): the set of iteration 1 is gone in iteration 2.
  EXPECT_EQ(render("{% set x = 5 %}{% for i in [1, 2] %}[{{ x }}]{% set x = i %}{% endfor %}"), "[5][5]");
  // A macro sees the scope it was defined in, and top-level sets made after its definition.
  EXPECT_EQ(render("{% for i in [7] %}{% macro m() %}{{ i }}{% endmacro %}{{ m() }}{% endfor %}"), "7");
  EXPECT_EQ(render("{% macro m() %}{{ g }}{% endmacro %}{% set g = 1 %}{{ m() }}"), "1");
}

TEST(JinjaRender, MacrosAndCall) {
  EXPECT_EQ(render("{% macro m(a, b='B') %}<{{ a }}{{ b }}>{% endmacro %}{{ m(1) }}{{ m(1, 2) }}{{ m(b=3, a=4) }}"),
            "<1B><12><43>");
  EXPECT_EQ(render("{% macro box(t) %}[{{ t }}:{{ caller() }}]{% endmacro %}{% call box('T') %}body{% endcall %}"),
            "[T:body]");
  EXPECT_ERROR(error_of([] { render("{% macro m() %}{% endmacro %}{{ m(1) }}"); }), "takes 0 arguments");
}

TEST(JinjaRender, ExpressionsAndPrecedence) {
  EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 7 // -2 }} {{ -7 % 3 }}"),
            "7 9 64 4 -4 2");
  EXPECT_EQ(render("{{ 7 / 2 }} {{ 4 / 2 }} {{ 1.5 + 1 }} {{ 'a' ~ 1 ~ none }} {{ 'ab' * 2 }}"),
            "3.5 2.0 2.5 a1None abab");
  EXPECT_EQ(render("{{ not 1 == 2 }} {{ 1 < 2 <= 2 }} {{ 'b' in 'abc' }} {{ 3 not in [1] }} {{ 'k' in {'k': 1} }}"),
            "True True True True True");
  EXPECT_EQ(render("{{ 0 or 'x' }} {{ 1 and 0 }} {{ 'y' if 0 else 'n' }} [{{ 'y' if 0 }}]"), "x 0 n []");
  EXPECT_EQ(render("{{ [1, 2, 3][-1] }} {{ {'a': {'b': 5}}.a.b }} {{ {'a': 1}['a'] }} {{ 'abc'[1] }}"), "3 5 1 b");
}

TEST(JinjaRender, Slicing) {
  EXPECT_EQ(render("{{ 'abcdef'[::-1] }} {{ 'abcdef'[1:-1] }} {{ 'abcdef'[::2] }} {{ 'abcdef'[-2:] }} {{ 'abc'[5:] }}"),
            "fedcba bcde ace ef ");
  EXPECT_EQ(render("{{ [1, 2, 3, 4][1:] }} {{ [1, 2, 3, 4][:-1][::-1] }} {{ [1, 2, 3][::-2] }}"),
            "[2, 3, 4] [3, 2, 1] [3, 1]");
  EXPECT_EQ(render("{{ 'h\xC3\xA9llo'[1:3] }}"), "\xC3\xA9l");  // by code point
}

TEST(JinjaRender, Filters) {
  EXPECT_EQ(render("{{ ' x ' | trim }}|{{ 'aXb' | upper }}|{{ 'AxB' | lower }}|{{ 'hi there' | title }}|"
                   "{{ 'hI' | capitalize }}|{{ 'a.b' | replace('.', '::') }}"),
            "x|AXB|axb|Hi There|Hi|a::b");
  EXPECT_EQ(render("{{ u | default('d') }}|{{ '' | default('d') }}|{{ '' | d('d', true) }}|{{ [1, 2] | length }}|"
                   "{{ 'abc' | count }}|{{ u | length }}"),
            "d||d|2|3|0");
  EXPECT_EQ(render("{{ [1, 2, 3] | first }}{{ [1, 2, 3] | last }}|{{ [1, 2] | join(', ') }}|{{ '5' | int + 1 }}|"
                   "{{ 'x' | int(7) }}|{{ 3 | string ~ 'x' }}|{{ 'ab' | list }}"),
            "13|1, 2|6|7|3x|['a', 'b']");
  const nlohmann::ordered_json ms = {{"ms", {{{"role", "user"}, {"n", 1}}, {{"role", "bot"}, {"n", 2}}}}};
  EXPECT_EQ(render("{{ ms | selectattr('role', 'equalto', 'user') | map(attribute='n') | list }}"
                   "{{ ms | rejectattr('role', 'eq', 'user') | map(attribute='role') | join }}"
                   "{{ ms | map(attribute='missing', default='z') | join }}",
                   ms),
            "[1]botzz");
  EXPECT_EQ(render("{% for k, v in {'a': 1} | items %}{{ k }}{{ v }}{% endfor %}"), "a1");
}

TEST(JinjaRender, ToJsonAsTransformers) {
  // json.dumps(ensure_ascii=False): no HTML escaping, Python separators, indent nests.
  EXPECT_EQ(render("{{ {'a': [1, 2.5, none, true], 'b': '<&\\'\\n\xC3\xA9>'} | tojson }}"),
            "{\"a\": [1, 2.5, null, true], \"b\": \"<&'\\n\xC3\xA9>\"}");
  EXPECT_EQ(render("{{ {'a': [1], 'e': {}} | tojson(indent=2) }}"), "{\n  \"a\": [\n    1\n  ],\n  \"e\": {}\n}");
}

TEST(JinjaRender, Tests) {
  EXPECT_EQ(render("{{ u is defined }}{{ u is undefined }}{{ none is none }}{{ 'a' is string }}{{ {} is mapping }}"
                   "{{ [] is iterable }}{{ 'a' is sequence }}{{ 1.5 is number }}{{ true is boolean }}"),
            "FalseTrueTrueTrueTrueTrueTrueTrueTrue");
  EXPECT_EQ(render("{{ true is true }}{{ 1 is true }}{{ false is false }}{{ 2 is equalto 2 }}{{ 2 is eq(3) }}"
                   "{{ 'x' is not none }}{{ 3 is odd }}{{ 6 is divisibleby(3) }}"),
            "TrueFalseTrueTrueFalseTrueTrueTrue");
}

TEST(JinjaRender, StringAndDictMethods) {
  EXPECT_EQ(render("{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith('bc') }}{{ 'abc'.startswith(('x', 'a')) }}"),
            "TrueTrueTrue");
  EXPECT_EQ(render("{{ 'a b  c'.split() }}{{ 'a,b'.split(',') }}{{ '<think>x</think>y'.split('</think>')[-1] }}"),
            "['a', 'b', 'c']['a', 'b']y");
  EXPECT_EQ(render("[{{ '\\n x \\n'.strip() }}][{{ '  x'.lstrip() }}][{{ 'x\\n\\n'.rstrip('\\n') }}]"), "[x][x][x]");
  EXPECT_EQ(render("{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}{{ 'a-b'.replace('-', '') }}{{ 'ab cd'.title() }}"),
            "ABababAb Cd");
  const nlohmann::ordered_json d = {{"d", {{"x", 1}, {"items", "shadowed?"}}}};
  EXPECT_EQ(render("{{ d.get('x') }}{{ d.get('y', 'no') }}{{ d.get('y') }}{{ d.keys() | list }}{{ d.values() | list }}"
                   "{{ d['items'] }}",
                   d),
            "1noNone['x', 'items'][1, 'shadowed?']shadowed?");
}

TEST(JinjaRender, UndefinedAsInJinja2) {
  EXPECT_EQ(render("[{{ nothing }}]{{ 'y' if nothing else 'n' }}{{ nothing is defined }}{{ nothing | length }}"),
            "[]nFalse0");
  EXPECT_EQ(render("{{ {'a': 1}.b is defined }}{{ [][0] is defined }}{{ none.x is defined }}"), "FalseFalseFalse");
  // An attribute of an undefined value is an error in jinja2 (its default Undefined), not another undefined.
  EXPECT_ERROR(error_of([] { render("{{ nothing.attr }}"); }), "attribute 'attr' of an undefined value");
  EXPECT_ERROR(error_of([] { render("{{ nothing() }}"); }), "'nothing' is undefined");
}

TEST(JinjaChatTemplate, VariablesRaiseAndClock) {
  const JinjaChatTemplate t = JinjaChatTemplate::compile(
      "{{ bos_token }}{% for m in messages %}{{ m.role }}:{{ m.content }}{{ eos_token }}{% endfor %}"
      "{% if add_generation_prompt %}GO{% endif %}{% if tools is none %}|no tools{% endif %}"
      "{% if enable_thinking is defined %}|think={{ enable_thinking }}{% endif %}|{{ strftime_now('%Y') }}");
  ChatTemplateInputs in;
  in.messages = {{"user", "hi"}};
  in.bos_token = "<s>";
  in.eos_token = "</s>";
  in.now = 1721995200;  // 2024-07-26 12:00 UTC
  EXPECT_EQ(t.render(in), "<s>user:hi</s>GO|no tools|2024");
  in.add_generation_prompt = false;
  in.extra_variables = {{"enable_thinking", false}};
  EXPECT_EQ(t.render(in), "<s>user:hi</s>|no tools|think=False|2024");

  const JinjaChatTemplate raising = JinjaChatTemplate::compile("{{ raise_exception('System role not supported') }}");
  EXPECT_EQ(error_of([&] { raising.render(in); }), "chat template raised: System role not supported");
  in.extra_variables = nlohmann::ordered_json::array();
  EXPECT_ERROR(error_of([&] { t.render(in); }), "must be a JSON object");
}
