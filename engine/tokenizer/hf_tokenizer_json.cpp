#include "engine/tokenizer/hf_tokenizer_json.h"

#include <algorithm>
#include <fstream>

#include "engine/core/error.h"
#include "engine/core/input_file.h"
#include "engine/format/json_input.h"
#include "engine/tokenizer/pretokenizer.h"

namespace flux::engine {
namespace {

using nlohmann::json;

// The regexes as HF tokenizer.json files spell them; llama.cpp rewrites (?i:...) as explicit character classes.
const std::string kHfContractionsCi = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
const std::string kCppContractionsCi = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
const std::string kHfByteLevelRegex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

// llama.cpp spelling -> HF spelling, so written files look like the ones models ship.
std::string to_hf_regex(std::string re) {
  const size_t at = re.find(kCppContractionsCi);
  if (at != std::string::npos) re.replace(at, kCppContractionsCi.size(), kHfContractionsCi);
  return re;
}

std::string to_cpp_regex(std::string re) {
  const size_t at = re.find(kHfContractionsCi);
  if (at != std::string::npos) re.replace(at, kHfContractionsCi.size(), kCppContractionsCi);
  if (re == kHfByteLevelRegex) return PreTokenizer::regexes("gpt2").front();
  return re;
}

json read_json(const std::filesystem::path& path) {
  const std::string text = read_input_file(path, "tokenizer");
  if (auto j = parse_json_limited(text, "tokenizer: " + path.string())) return std::move(*j);
  try {
    [[maybe_unused]] const json again = json::parse(text);  // only for the parser's description of the error
  } catch (const json::exception& e) {
    fail("tokenizer: '{}' is not valid JSON: {}", path.string(), e.what());
  }
  fail("tokenizer: '{}' is not valid JSON", path.string());
}

// A token given as "text" or {"content": "text"} in tokenizer_config.json.
std::optional<std::string> token_string(const json& config, const char* key) {
  if (!config.contains(key)) return std::nullopt;
  const json& v = config[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  return std::nullopt;
}

void apply_config(VocabData& v, const json& config, const std::string& origin) {
  const auto find_id = [&](const char* key) -> std::optional<int32_t> {
    const auto text = token_string(config, key);
    if (!text) return std::nullopt;
    for (size_t i = 0; i < v.tokens.size(); ++i) {
      if (v.tokens[i] == *text) return static_cast<int32_t>(i);
    }
    fail("tokenizer: {} '{}' of {} is not in the vocabulary", key, *text, origin);
  };
  if (auto id = find_id("bos_token")) v.bos_id = id;
  if (auto id = find_id("eos_token")) v.eos_id = id;
  if (auto id = find_id("unk_token")) v.unk_id = id;
  if (auto id = find_id("pad_token")) v.pad_id = id;
  if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) v.add_bos = config["add_bos_token"].get<bool>();
  if (config.contains("add_eos_token") && config["add_eos_token"].is_boolean()) v.add_eos = config["add_eos_token"].get<bool>();
  read_hf_chat_templates(config, v);
}

// The special tokens a post_processor puts around the text ($A) of a single sequence: TemplateProcessing's "single"
// template, also inside a Sequence of processors (Llama 3.1: ByteLevel then TemplateProcessing). Other processor
// types (ByteLevel, ...) add nothing here.
void apply_post_processor(VocabData& v, const json& pp, const std::string& origin) {
  if (!pp.is_object()) return;
  const std::string type = pp.value("type", "");
  if (type == "Sequence") {
    for (const json& p : pp.value("processors", json::array())) apply_post_processor(v, p, origin);
    return;
  }
  if (type != "TemplateProcessing" || !pp.contains("single")) return;
  const auto id_of = [&](const std::string& name) -> int32_t {
    if (pp.contains("special_tokens") && pp["special_tokens"].contains(name)) {
      const json& ids = pp["special_tokens"][name].value("ids", json::array());
      if (ids.size() == 1 && ids[0].is_number_integer()) return ids[0].get<int32_t>();
    }
    const auto it = std::find(v.tokens.begin(), v.tokens.end(), name);
    require(it != v.tokens.end(), "tokenizer: {}: post_processor token '{}' is not in the vocabulary", origin, name);
    return static_cast<int32_t>(it - v.tokens.begin());
  };
  std::vector<int32_t> before, after;
  bool seen_text = false;
  for (const json& piece : pp["single"]) {
    if (piece.contains("Sequence")) {
      seen_text = true;
    } else if (piece.contains("SpecialToken")) {
      (seen_text ? after : before).push_back(id_of(piece["SpecialToken"].at("id").get<std::string>()));
    }
  }
  require(before.size() <= 1 && after.size() <= 1,
          "tokenizer: {}: post_processor adds {} tokens before and {} after the text; FluxScope supports one BOS "
          "and one EOS",
          origin, before.size(), after.size());
  v.add_bos = !before.empty();
  if (!before.empty()) v.bos_id = before[0];
  v.add_eos = !after.empty();
  if (!after.empty()) v.eos_id = after[0];
}

}  // namespace

void read_hf_chat_templates(const json& config, VocabData& v) {
  if (!config.is_object() || !config.contains("chat_template")) return;
  const json& t = config["chat_template"];
  if (t.is_string()) {
    v.chat_template = t.get<std::string>();
  } else if (t.is_array()) {  // named templates: "default" is the template, --chat-template NAME picks another
    for (const json& named : t) {
      if (!named.is_object() || !named.contains("name") || !named["name"].is_string()) continue;
      const std::string name = named["name"].get<std::string>();
      const std::string text = named.contains("template") && named["template"].is_string()
                                   ? named["template"].get<std::string>()
                                   : std::string();
      v.named_chat_templates[name] = text;
      if (name == "default") v.chat_template = text;
    }
  }
}

std::string pre_id_from_hf_pre_tokenizer(const json& pre) {
  require(pre.is_object(), "tokenizer: unsupported pre-tokenizer (none given; byte-level BPE needs ByteLevel)");
  const std::vector<json> steps =
      pre.value("type", "") == "Sequence" ? pre.at("pretokenizers").get<std::vector<json>>() : std::vector<json>{pre};
  std::vector<std::string> regexes;
  bool ends_with_byte_level = false;
  for (size_t i = 0; i < steps.size(); ++i) {
    const json& s = steps[i];
    const std::string type = s.value("type", "");
    ends_with_byte_level = false;
    if (type == "ByteLevel") {
      require(!s.value("add_prefix_space", false), "tokenizer: unsupported pre-tokenizer: ByteLevel add_prefix_space");
      if (s.value("use_regex", true)) regexes.push_back(PreTokenizer::regexes("gpt2").front());
      ends_with_byte_level = i + 1 == steps.size();
    } else if (type == "Digits" && s.value("individual_digits", false)) {
      regexes.emplace_back(R"(\p{N})");
    } else if (type == "Split" && s.value("behavior", "") == "Isolated" && !s.value("invert", false) &&
               s.contains("pattern") && s["pattern"].contains("Regex")) {
      regexes.push_back(to_cpp_regex(s["pattern"]["Regex"].get<std::string>()));
    } else {
      fail("tokenizer: unsupported pre-tokenizer step {}", s.dump());
    }
  }
  require(ends_with_byte_level, "tokenizer: unsupported pre-tokenizer {} (byte-level BPE must end with ByteLevel)",
          pre.dump());
  for (const char* id : {"gpt2", "smollm", "llama-bpe", "qwen2", "default"}) {
    if (PreTokenizer::regexes(id) == regexes) return id;
  }
  fail("tokenizer: unsupported pre-tokenizer {}", pre.dump());
}

VocabData vocab_from_hf_tokenizer_json(const json& tok, const json* config, const std::string& origin) {
  VocabData v;
  v.model = "gpt2";
  try {
    const json& model = tok.at("model");
    const std::string type = model.value("type", "");
    require(type == "BPE", "tokenizer: {}: unsupported model type '{}' (expected BPE)", origin, type);
    require(tok.contains("pre_tokenizer"), "tokenizer: {}: unsupported pre-tokenizer (missing)", origin);
    v.pre = pre_id_from_hf_pre_tokenizer(tok["pre_tokenizer"]);
    const json& normalizer = tok.value("normalizer", json());
    // Qwen2 ships an NFC normalizer; like llama.cpp we tokenize the text as given.
    require(normalizer.is_null() || normalizer.value("type", "") == "NFC", "tokenizer: {}: unsupported normalizer {}",
            origin, normalizer.dump());

    std::vector<std::optional<std::string>> slots;
    std::vector<TokenType> types;
    // Ids must cover 0..n-1 without gaps, so no valid id reaches the number of entries listed: checking that first
    // keeps a one-line file claiming id 16777215 from allocating a slot table for 16M tokens.
    const std::size_t n_listed =
        model.at("vocab").size() + (tok.contains("added_tokens") ? tok["added_tokens"].size() : 0);
    const auto put = [&](int64_t id, const std::string& text, TokenType t) {
      require(id >= 0 && id < (1 << 24), "tokenizer: {}: token id {} is out of range", origin, id);
      require(static_cast<std::size_t>(id) < n_listed, "tokenizer: {}: token id {} leaves gaps ({} tokens listed)",
              origin, id, n_listed);
      if (static_cast<size_t>(id) >= slots.size()) {
        slots.resize(static_cast<size_t>(id) + 1);
        types.resize(static_cast<size_t>(id) + 1, TokenType::Normal);
      }
      slots[static_cast<size_t>(id)] = text;
      types[static_cast<size_t>(id)] = t;
    };
    // get<int64_t>() of 1e300 would be an out-of-range float-to-int conversion (undefined behaviour).
    const auto id_of = [&](const json& id) {
      require(id.is_number_integer(), "tokenizer: {}: token id {} is not an integer", origin, id.dump());
      return id.get<int64_t>();
    };
    for (const auto& [piece, id] : model.at("vocab").items()) put(id_of(id), piece, TokenType::Normal);
    if (tok.contains("added_tokens")) {
      for (const json& a : tok["added_tokens"]) {
        put(id_of(a.at("id")), a.at("content").get<std::string>(),
            a.value("special", false) ? TokenType::Control : TokenType::UserDefined);
      }
    }
    for (size_t i = 0; i < slots.size(); ++i) {
      require(slots[i].has_value(), "tokenizer: {}: no token has id {}", origin, i);
      v.tokens.push_back(std::move(*slots[i]));
    }
    v.token_types = std::move(types);

    const json merges = model.value("merges", json::array());
    require(merges.is_array() && !merges.empty(), "tokenizer: BPE vocabulary has no merges ({})", origin);
    for (const json& m : merges) {
      if (m.is_string()) {
        v.merges.push_back(m.get<std::string>());
      } else {
        require(m.is_array() && m.size() == 2, "tokenizer: {}: merge {} is not 'a b' or [a, b]", origin, m.dump());
        v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
      }
    }
    // The post_processor decides what the fast tokenizer adds (Llama 3: <|begin_of_text|>); tokenizer_config.json's
    // add_bos_token / add_eos_token, when given, override it as transformers' LlamaTokenizerFast does.
    if (tok.contains("post_processor")) apply_post_processor(v, tok["post_processor"], origin);
    if (config) apply_config(v, *config, origin);
  } catch (const json::exception& e) {
    fail("tokenizer: {}: malformed tokenizer JSON: {}", origin, e.what());
  }
  return v;
}

VocabData vocab_from_hf_tokenizer_json(const std::filesystem::path& tokenizer_json) {
  const json tok = read_json(tokenizer_json);
  const auto config_path = tokenizer_json.parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config_path)) {
    const json config = read_json(config_path);
    return vocab_from_hf_tokenizer_json(tok, &config, tokenizer_json.string());
  }
  return vocab_from_hf_tokenizer_json(tok, nullptr, tokenizer_json.string());
}

json hf_tokenizer_json(const VocabData& v) {
  require(v.model == "gpt2", "tokenizer: cannot write tokenizer.json for model '{}' (only byte-level BPE)", v.model);
  require(!v.merges.empty(), "tokenizer: BPE vocabulary has no merges");
  const std::string pre = PreTokenizer::canonical_id(v.pre.empty() ? "default" : v.pre);
  json pre_tokenizer;
  if (pre == "gpt2") {
    pre_tokenizer = byte_level(true);
  } else if (pre == "smollm") {
    pre_tokenizer = {{"type", "Sequence"},
                     {"pretokenizers", json::array({{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true)})}};
  } else {
    json steps = json::array();
    for (const std::string& re : PreTokenizer::regexes(pre)) {
      steps.push_back({{"type", "Split"}, {"pattern", {{"Regex", to_hf_regex(re)}}}, {"behavior", "Isolated"},
                       {"invert", false}});
    }
    steps.push_back(byte_level(false));
    pre_tokenizer = {{"type", "Sequence"}, {"pretokenizers", steps}};
  }

  json vocab = json::object();
  json added = json::array();
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (!vocab.contains(v.tokens[i])) vocab[v.tokens[i]] = i;  // a JSON object keeps the first id of a duplicate
    const TokenType t = v.token_types.empty() ? TokenType::Normal : v.token_types[i];
    if (t == TokenType::Control || t == TokenType::UserDefined) {
      added.push_back({{"id", i}, {"content", v.tokens[i]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", t == TokenType::Control}});
    }
  }
  json model = {{"type", "BPE"},           {"dropout", nullptr},
                {"unk_token", nullptr},    {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr}, {"fuse_unk", false},
                {"byte_fallback", false},  {"ignore_merges", pre == "llama-bpe"},
                {"vocab", vocab},          {"merges", v.merges}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", pre_tokenizer},
          {"post_processor", nullptr},
          {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
          {"model", model}};
}

json hf_tokenizer_config_json(const VocabData& v) {
  const auto text_of = [&](const std::optional<int32_t>& id) -> json {
    if (!id || *id < 0 || static_cast<size_t>(*id) >= v.tokens.size()) return nullptr;
    return v.tokens[static_cast<size_t>(*id)];
  };
  json config = {{"tokenizer_class", "PreTrainedTokenizerFast"},
                 {"clean_up_tokenization_spaces", false},
                 {"add_bos_token", v.add_bos.value_or(false)},
                 {"add_eos_token", v.add_eos.value_or(false)},
                 {"bos_token", text_of(v.bos_id)},
                 {"eos_token", text_of(v.eos_id)},
                 {"unk_token", text_of(v.unk_id)},
                 {"pad_token", text_of(v.pad_id)}};
  if (!v.chat_template.empty()) config["chat_template"] = v.chat_template;
  return config;
}

}  // namespace flux::engine
