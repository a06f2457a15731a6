// Golden tests: every chat template in tests/data/chat_templates/ (made by tools/golden/make_chat_template_golden.py
// with Python's jinja2 under transformers' settings) renders byte for byte as jinja2 rendered it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/tokenizer/chat_template_jinja.h"
#include "tests/engine/support/error_of.h"

using namespace flux::engine;
using flux::test::error_of;

namespace {

const std::filesystem::path kDir = std::filesystem::path(FLUX_TEST_DATA_DIR) / "chat_templates";

nlohmann::ordered_json load(const std::string& name) {
  std::ifstream in(kDir / (name + ".json"));
  EXPECT_TRUE(in.good()) << "missing golden file " << name << ".json";
  return nlohmann::ordered_json::parse(in);
}

ChatTemplateInputs inputs_of(const nlohmann::ordered_json& c) {
  ChatTemplateInputs in;
  for (const auto& m : c.at("messages")) in.messages.push_back({m.at("role"), m.at("content")});
  in.add_generation_prompt = c.at("add_generation_prompt");
  in.bos_token = c.at("bos_token");
  in.eos_token = c.at("eos_token");
  in.extra_variables = c.at("variables");
  in.now = c.at("now").get<std::time_t>();
  return in;
}

// Renders every case of one golden file; returns how many matched.
int check_file(const std::string& name) {
  const nlohmann::ordered_json golden = load(name);
  const JinjaChatTemplate tmpl = JinjaChatTemplate::compile(golden.at("template"));
  int matched = 0;
  for (const auto& c : golden.at("cases")) {
    SCOPED_TRACE(name + "/" + c.at("name").get<std::string>());
    const ChatTemplateInputs in = inputs_of(c);
    if (c.contains("expected")) {
      std::string got;
      EXPECT_NO_THROW(got = tmpl.render(in));
      EXPECT_EQ(got, c.at("expected").get<std::string>());
      matched += got == c.at("expected").get<std::string>();
    } else {
      const std::string error = error_of([&] { tmpl.render(in); });
      EXPECT_NE(error, "(no error)") << "jinja2 failed with: " << c.at("expected_error");
      if (c.at("error_kind") == "raised") {
        EXPECT_EQ(error, "chat template raised: " + c.at("expected_error").get<std::string>());
      } else {
        EXPECT_ERROR(error, "undefined");
      }
      matched += error != "(no error)";
    }
  }
  EXPECT_EQ(matched, static_cast<int>(golden.at("cases").size()));
  // Measured, not asserted: the cost of one render (the successful cases, repeated).
  const auto start = std::chrono::steady_clock::now();
  int renders = 0;
  for (int rep = 0; rep < 20; ++rep) {
    for (const auto& c : golden.at("cases")) {
      if (!c.contains("expected")) continue;
      renders += !tmpl.render(inputs_of(c)).empty();
    }
  }
  const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ measure ] %s: %.1f us per render (%d renders)\n", name.c_str(), renders ? us / renders : 0.0, renders);
  return matched;
}

}  // namespace

TEST(JinjaGolden, SmolLM2FromTheDemoGguf) {
  EXPECT_EQ(check_file("smollm2"), 6);
}
TEST(JinjaGolden, Qwen3WithThinkingAndTools) {
  EXPECT_GE(check_file("qwen3"), 12);
}
TEST(JinjaGolden, Llama31WithDateAndTools) {
  EXPECT_GE(check_file("llama31"), 11);
}
TEST(JinjaGolden, MistralV03) {
  EXPECT_GE(check_file("mistral_v03"), 8);
}
TEST(JinjaGolden, Gemma2) {
  EXPECT_GE(check_file("gemma2"), 6);
}
TEST(JinjaGolden, Gemma3) {
  EXPECT_GE(check_file("gemma3"), 7);
}
TEST(JinjaGolden, Phi3) {
  EXPECT_GE(check_file("phi3"), 6);
}
TEST(JinjaGolden, EveryConstruct) {
  EXPECT_GE(check_file("constructs"), 3);
}

TEST(JinjaGolden, SmolLM2TemplateEqualsTheChatMLFamily) {
  // The model's own template, rendered, is what the hard-coded ChatML family produced for it: a drop-in replacement.
  const std::string source = load("smollm2").at("template");
  const JinjaChatTemplate tmpl = JinjaChatTemplate::compile(source);
  for (const bool with_system : {false, true}) {
    ChatTemplateInputs in;
    if (with_system) in.messages.push_back({"system", "Be brief."});
    in.messages.push_back({"user", "Hi there"});
    EXPECT_EQ(tmpl.render(in), apply_chat_template(detect_chat_format(source, "llama"), in.messages, true,
                                                   default_system_prompt(source)));
  }
}
