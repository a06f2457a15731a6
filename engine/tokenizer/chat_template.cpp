#include "engine/tokenizer/chat_template.h"

#include <algorithm>

#include "engine/tokenizer/tokenizer.h"

namespace flux::engine {
namespace {

std::string_view trim(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

ChatFormat detect_chat_format(const std::string& jinja_template, const std::string& architecture) {
  if (jinja_template.find("<|im_start|>") != std::string::npos) return ChatFormat::ChatML;
  if (jinja_template.find("<|start_header_id|>") != std::string::npos) return ChatFormat::Llama3;
  if (jinja_template.empty() && (architecture == "qwen2" || architecture == "qwen3")) return ChatFormat::ChatML;
  return ChatFormat::Raw;
}

std::string default_system_prompt(const std::string& jinja) {
  // The newline after "system" is either a real newline or the two characters "\n" of a Jinja string literal.
  for (const std::string_view opener : {std::string_view("<|im_start|>system\n"), std::string_view("<|im_start|>system\\n")}) {
    const size_t at = jinja.find(opener);
    if (at == std::string::npos) continue;
    const size_t begin = at + opener.size();
    const size_t end = jinja.find("<|im_end|>", begin);
    if (end == std::string::npos) continue;
    const std::string_view text = std::string_view(jinja).substr(begin, end - begin);
    // Only a literal: anything that looks like Jinja or string concatenation means the prompt is computed.
    if (text.empty() || text.find_first_of("{}'\"+") != std::string_view::npos) continue;
    return std::string(text);
  }
  return {};
}

std::string apply_chat_template(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                std::string_view default_system) {
  std::vector<ChatMessage> all;
  if (!default_system.empty() && (messages.empty() || messages.front().role != "system")) {
    all.push_back({"system", std::string(default_system)});
  }
  all.insert(all.end(), messages.begin(), messages.end());

  std::string out;
  switch (format) {
    case ChatFormat::ChatML:
      for (const ChatMessage& m : all) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      break;
    case ChatFormat::Llama3:
      for (const ChatMessage& m : all) {
        out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n";
        out += trim(m.content);
        out += "<|eot_id|>";
      }
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case ChatFormat::Raw:
      for (size_t i = 0; i < all.size(); ++i) {
        if (i > 0) out += "\n";
        out += all[i].content;
      }
      break;
  }
  return out;
}

std::vector<std::string> stop_strings(ChatFormat format) {
  switch (format) {
    case ChatFormat::ChatML: return {"<|im_end|>"};
    case ChatFormat::Llama3: return {"<|eot_id|>"};
    case ChatFormat::Raw: break;
  }
  return {};
}

std::vector<std::string> end_of_turn_strings(const std::string& jinja_template) {
  std::vector<std::string> out;
  for (const char* s : {"<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<|end|>"})
    if (jinja_template.find(s) != std::string::npos) out.emplace_back(s);
  return out;
}

std::vector<int32_t> stop_token_ids(ChatFormat format, const Tokenizer& tokenizer) {
  std::vector<int32_t> ids;
  for (const std::string& s : stop_strings(format)) {
    if (const auto id = tokenizer.token_id(s)) ids.push_back(*id);
  }
  if (const auto eos = tokenizer.eos_id(); eos && std::find(ids.begin(), ids.end(), *eos) == ids.end()) {
    ids.push_back(*eos);
  }
  return ids;
}

std::string_view chat_format_name(ChatFormat format) {
  switch (format) {
    case ChatFormat::ChatML: return "chatml";
    case ChatFormat::Llama3: return "llama3";
    case ChatFormat::Raw: break;
  }
  return "raw";
}

}  // namespace flux::engine
