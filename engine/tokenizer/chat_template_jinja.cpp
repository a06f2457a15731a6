#include "engine/tokenizer/chat_template_jinja.h"

#include "engine/core/error.h"

namespace flux::engine {
namespace {

// raise_exception's message travels inside the Error; this marker lets render() name it as the template's own.
constexpr std::string_view kRaisedMarker = "\x01raised\x01";

std::string strftime_at(const std::string& format, std::time_t now) {
  require(format.size() <= 256, "strftime_now(): format longer than 256 characters");
  std::tm local{};
  localtime_r(&now, &local);
  std::string out(512, '\0');
  const size_t n = format.empty() ? 0 : std::strftime(out.data(), out.size(), format.c_str(), &local);
  out.resize(n);
  return out;
}

}  // namespace

JinjaChatTemplate JinjaChatTemplate::compile(const std::string& source) {
  JinjaChatTemplate t;
  try {
    t.template_ = jinja::Template::compile(source);
  } catch (const Error& e) {
    fail("chat template: {}", e.what());
  }
  return t;
}

std::string JinjaChatTemplate::render(const ChatTemplateInputs& inputs) const {
  using jinja::Value;
  require(inputs.extra_variables.is_null() || inputs.extra_variables.is_object(),
          "chat template variables must be a JSON object, got {}", inputs.extra_variables.dump());
  jinja::Dict vars;
  jinja::List messages;
  for (const ChatMessage& m : inputs.messages) {
    jinja::Dict message;
    message.set("role", Value(m.role));
    message.set("content", Value(m.content));
    messages.emplace_back(std::move(message));
  }
  vars.set("messages", Value(std::move(messages)));
  vars.set("add_generation_prompt", Value(inputs.add_generation_prompt));
  vars.set("bos_token", Value(inputs.bos_token));
  vars.set("eos_token", Value(inputs.eos_token));
  vars.set("tools", Value::none());
  vars.set("documents", Value::none());
  vars.set("raise_exception", Value(jinja::Function([](const jinja::Args& a) -> Value {
             fail("{}{}", kRaisedMarker, a.positional.empty() ? std::string() : a.positional[0].str());
           })));
  const std::optional<std::time_t> fixed = inputs.now;
  vars.set("strftime_now", Value(jinja::Function([fixed](const jinja::Args& a) {
             require(!a.positional.empty() && a.positional[0].is_string(), "strftime_now() needs a format string");
             return Value(strftime_at(a.positional[0].as_string(), fixed ? *fixed : std::time(nullptr)));
           })));
  if (inputs.extra_variables.is_object()) {
    for (const auto& [k, v] : inputs.extra_variables.items()) vars.set(k, Value::from_json(v));
  }
  try {
    return template_.render(vars, inputs.limits);
  } catch (const Error& e) {
    const std::string message = e.what();
    const size_t marker = message.find(kRaisedMarker);
    if (marker != std::string::npos) fail("chat template raised: {}", message.substr(marker + kRaisedMarker.size()));
    fail("chat template: {}", message);
  }
}

}  // namespace flux::engine
