// Hostile chat templates against the render limits (docs/chat-templates.md "Limits", docs/reliability.md): repetition,
// `+` and `~` are charged before the big value is built, so each template below ends in a clear Error instead of
// allocating gigabytes (a list that repeats a 4 MiB string a million times, printing a shared list of lists) or
// copying for minutes (a string or list grown by one item per loop iteration). A normal chat render of a 1 MiB
// message still fits the same default limits.
#include <gtest/gtest.h>

#include "engine/tokenizer/chat_template_jinja.h"
#include "engine/tokenizer/jinja/template.h"
#include "tests/engine/support/error_of.h"

using namespace flux::engine;
using flux::test::error_of;

namespace {

std::string render_error(const std::string& source, const jinja::RenderLimits& limits = {}) {
  return error_of([&] { jinja::Template::compile(source).render({}, limits); });
}

// A 1 MiB string held in `big`: a quarter of the default 4 MiB limit, so every copy below is cheap alone.
const std::string kBig = "{% set big = 'x' * 1048576 %}";

}  // namespace

TEST(JinjaRenderLimits, RepetitionIsRefusedBeforeItIsBuilt) {
  EXPECT_ERROR(render_error("{{ 'ab' * 100000000 }}"), "'*' would build a value of more than 4194304 bytes");
  // One item a list, but the item is a 1 MiB string: the copy holds a million of them (a terabyte).
  EXPECT_ERROR(render_error(kBig + "{% set l = [big] * 1000000 %}{{ l | length }}"),
               "'*' would build a value of more than 4194304 bytes");
  EXPECT_ERROR(render_error(kBig + "{{ ([big, big] * 3) | length }}"), "output size limit");
  // Within the limit the product is built and counted as Python does.
  EXPECT_EQ(jinja::Template::compile("{{ (['ab'] * 1000) | length }} {{ ('ab' * 1000) | length }}").render({}),
            "1000 2000");
}

TEST(JinjaRenderLimits, RepeatingSomethingEmptyIsEmptyAtOnce) {
  // Found by the chat_template fuzzer: '' * 3000000007683 passed the byte check (0 bytes) and then looped three
  // trillion times. An empty sequence times anything is empty, answered without a loop (a hang here, before).
  EXPECT_EQ(jinja::Template::compile("{{ ('' * 3000000007683) | length }} {{ ([] * 3000000007683) | length }}")
                .render({}),
            "0 0");
}

TEST(JinjaRenderLimits, ListAndStringPlusCountTheStringsTheyCopy) {
  EXPECT_ERROR(render_error(kBig + "{% set l = [big, big, big] %}{{ (l + l) | length }}"),
               "'+' of two lists would build a string of more than 4194304 bytes");
  EXPECT_ERROR(render_error(kBig + "{{ ((big ~ big) + (big ~ big) + 'x') | length }}"), "'+' would build");
  // A literal that names a 1 MiB string five times copies it five times.
  EXPECT_ERROR(render_error(kBig + "{{ [big, big, big, big, big] | length }}"), "a list literal would build");
  EXPECT_ERROR(render_error(kBig + "{{ {'a': big, 'b': big, 'c': big, 'd': big, 'e': big} | length }}"),
               "a dict literal would build");
}

TEST(JinjaRenderLimits, PrintingASharedListStopsAtTheLimit) {
  // One list holding a 1 MB string, 400,000 times: items held by reference (10 MB), but its text would be 400 GB.
  // Every way of printing it stops at the limit while the text grows.
  const std::string shared = "{% set a = ['x' * 1000000] %}{% set b = [a, a, a, a] * 100000 %}";
  EXPECT_ERROR(render_error(shared + "{{ b }}"), "printing a list would build a string of more than 4194304 bytes");
  EXPECT_ERROR(render_error(shared + "{{ b ~ '' }}"), "printing a list would build");
  EXPECT_ERROR(render_error(shared + "{{ b | string }}"), "printing a list would build");
  EXPECT_ERROR(render_error(shared + "{{ b | tojson }}"), "printing a list as JSON would build");
  EXPECT_ERROR(render_error(shared + "{{ {'k': b} }}"), "printing a list would build");
  EXPECT_ERROR(render_error(shared + "{{ b | join(',') }}"), "would build a string of more than 4194304 bytes");
  EXPECT_ERROR(render_error("{{ [1, 2] | tojson(indent=1000000000) }}"), "tojson: an indent of 1000000000 would build");
}

TEST(JinjaRenderLimits, GrowingLoopsRunOutOfStepsNotTime) {
  // Each loop stays under the size limit at every step (1 MB at the end) but copies the growing value each
  // iteration: 5e11 bytes in all without a charge for building. A step per 64 bytes built ends them at the step
  // budget (2M here to keep the test short; the default 20M bounds the copying to about 1.3 GB the same way).
  jinja::RenderLimits limits;
  limits.max_steps = 2'000'000;
  EXPECT_ERROR(render_error("{% set ns = namespace(s='') %}{% for i in range(1000000) %}{% set ns.s = ns.s ~ 'x' %}"
                            "{% endfor %}{{ ns.s | length }}",
                            limits),
               "more than 2000000 steps");
  EXPECT_ERROR(render_error("{% set ns = namespace(s='') %}{% for i in range(1000000) %}{% set ns.s = ns.s + 'x' %}"
                            "{% endfor %}{{ ns.s | length }}",
                            limits),
               "more than 2000000 steps");
  EXPECT_ERROR(render_error("{% set ns = namespace(l=[]) %}{% for i in range(1000000) %}{% set ns.l = ns.l + ['x'] %}"
                            "{% endfor %}{{ ns.l | length }}",
                            limits),
               "more than 2000000 steps");
  EXPECT_ERROR(render_error(kBig + "{% for i in range(1000000) %}{% set c = big ~ 'x' %}{% endfor %}", limits),
               "more than 2000000 steps");
  // Reading a big string is free: it is shared, not copied, by a lookup or a test.
  EXPECT_EQ(jinja::Template::compile(kBig + "{% for i in range(100000) %}{% if big %}{% endif %}{% endfor %}ok")
                .render({}, limits),
            "ok");
}

TEST(JinjaRenderLimits, ANormalChatOfAMegabyteStillRenders) {
  // The SmolLM2 shape: each message concatenated with its markers; the content is 1 MiB of text.
  const JinjaChatTemplate t = JinjaChatTemplate::compile(
      "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + "
      "'\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}");
  ChatTemplateInputs in;
  in.messages = {{"system", "Be brief."}, {"user", std::string(size_t{1} << 20, 'a')}};
  in.add_generation_prompt = true;
  const std::string out = t.render(in);
  EXPECT_EQ(out.size(), (size_t{1} << 20) + std::string("<|im_start|>system\nBe brief.<|im_end|>\n"
                                                        "<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n")
                                                .size());
}
