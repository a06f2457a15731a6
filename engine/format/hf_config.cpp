#include "engine/format/hf_config.h"

#include <cmath>
#include <fstream>
#include <limits>

#include <spdlog/spdlog.h>

#include "engine/core/error.h"
#include "engine/core/input_file.h"
#include "engine/format/json_input.h"

namespace flux::engine {
namespace {

using nlohmann::json;

int int_key(const json& j, const char* key, const std::string& source, std::optional<int> fallback = std::nullopt) {
  if (!j.contains(key) || j[key].is_null()) {
    require(fallback.has_value(), "{}: missing required key \"{}\"", source, key);
    return *fallback;
  }
  const json& v = j[key];
  require(v.is_number_integer(), "{}: \"{}\" must be an integer, got {}", source, key, v.dump());
  const auto i = v.get<int64_t>();
  require(i >= std::numeric_limits<int>::min() && i <= std::numeric_limits<int>::max(),
          "{}: \"{}\" = {} is out of range", source, key, i);
  return static_cast<int>(i);
}

std::optional<double> float_key(const json& j, const char* key, const std::string& source) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  require(j[key].is_number(), "{}: \"{}\" must be a number, got {}", source, key, j[key].dump());
  return j[key].get<double>();
}

bool bool_key(const json& j, const char* key, const std::string& source, bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  require(j[key].is_boolean(), "{}: \"{}\" must be true or false, got {}", source, key, j[key].dump());
  return j[key].get<bool>();
}

struct ArchDefaults {
  const char* model_type;
  const char* hf_class;
  int max_position_embeddings;  // transformers' config class defaults
  bool qk_norm;
  bool attention_bias;
};

constexpr ArchDefaults kArchs[] = {
    {"llama", "LlamaForCausalLM", 2048, false, false},
    {"qwen2", "Qwen2ForCausalLM", 32768, false, true},
    {"qwen3", "Qwen3ForCausalLM", 32768, true, false},
    // Llama's layout with a sliding window on every layer (model_config_from_hf_json caps the context at it).
    {"mistral", "MistralForCausalLM", 131072, false, false},
};

const ArchDefaults* find_arch(const std::string& model_type) {
  for (const auto& a : kArchs)
    if (model_type == a.model_type) return &a;
  return nullptr;
}

// Floats go to JSON through their shortest decimal form so 1e-5f is written as 1e-05, not 9.999999747378752e-06.
double clean_double(float f) {
  return std::stod(fmt::format("{}", f));
}

// The RoPE scaling dict: 5.x writes rope_parameters (rope_type "default" when unscaled), 4.x rope_scaling (null when
// unscaled); HF prefers rope_scaling when both are given. Defaults follow modeling_rope_utils.py: llama3/yarn take
// original_max_position_embeddings from the top level, then the dict, then max_position_embeddings; dynamic grows
// past max_position_embeddings; yarn's beta_fast/beta_slow fall back to 32/1 when unset or 0.
RopeScaling rope_scaling_from_hf(const json& j, int max_position_embeddings, const std::string& source) {
  const char* dict_key = "rope_scaling";
  if (!j.contains(dict_key) || j[dict_key].is_null()) dict_key = "rope_parameters";
  if (!j.contains(dict_key) || j[dict_key].is_null()) return {};
  const json& d = j[dict_key];
  const std::string where = fmt::format("{}: \"{}\"", source, dict_key);
  require(d.is_object(), "{} must be an object or null, got {}", where, d.dump());
  const char* type_key = d.contains("rope_type") ? "rope_type" : "type";
  if (!d.contains(type_key) || d[type_key].is_null()) return {};
  require(d[type_key].is_string(), "{}: \"{}\" must be a string, got {}", where, type_key, d[type_key].dump());
  const std::string type = d[type_key].get<std::string>();

  auto number = [&](const char* key) { return float_key(d, key, where); };
  auto required = [&](const char* key) {
    const std::optional<double> v = number(key);
    require(v.has_value(), "{}: rope type '{}' needs \"{}\"", where, type, key);
    return *v;
  };
  auto original_max = [&]() {
    if (j.contains("original_max_position_embeddings") && !j["original_max_position_embeddings"].is_null())
      return int_key(j, "original_max_position_embeddings", source);
    return int_key(d, "original_max_position_embeddings", where, max_position_embeddings);
  };
  RopeScaling s;
  if (type == "default") return s;
  if (type == "linear") {
    s.type = RopeScalingType::Linear;
    s.factor = required("factor");
  } else if (type == "dynamic") {
    s.type = RopeScalingType::Dynamic;
    s.factor = required("factor");
    s.original_max_position_embeddings = max_position_embeddings;
  } else if (type == "llama3") {
    s.type = RopeScalingType::Llama3;
    s.factor = required("factor");
    s.low_freq_factor = required("low_freq_factor");
    s.high_freq_factor = required("high_freq_factor");
    s.original_max_position_embeddings = original_max();
  } else if (type == "yarn") {
    s.type = RopeScalingType::Yarn;
    s.original_max_position_embeddings = original_max();
    require(s.original_max_position_embeddings > 0, "{}: \"original_max_position_embeddings\" = {} must be positive",
            where, s.original_max_position_embeddings);
    s.factor = number("factor").value_or(static_cast<double>(max_position_embeddings) /
                                         s.original_max_position_embeddings);
    s.attention_factor = number("attention_factor");
    s.mscale = number("mscale").value_or(0.0);
    s.mscale_all_dim = number("mscale_all_dim").value_or(0.0);
    if (auto v = number("beta_fast"); v && *v != 0.0) s.beta_fast = *v;
    if (auto v = number("beta_slow"); v && *v != 0.0) s.beta_slow = *v;
    s.truncate = bool_key(d, "truncate", where, true);
  } else {
    fail("{}: rope type '{}' (key \"{}\") is not supported (supported: default, linear, dynamic, llama3, yarn)", where,
         type, type_key);
  }
  return s;
}

double rope_theta_from_hf(const json& j, const std::string& source) {
  std::optional<double> theta = float_key(j, "rope_theta", source);
  const char* key = "rope_theta";
  if (j.contains("rope_parameters") && !j["rope_parameters"].is_null()) {
    require(j["rope_parameters"].is_object(), "{}: \"rope_parameters\" must be an object", source);
    if (auto t = float_key(j["rope_parameters"], "rope_theta", source + ": rope_parameters")) {
      theta = t;
      key = "rope_parameters.rope_theta";
    }
  }
  const double v = theta.value_or(10000.0);
  require(std::isfinite(v) && v > 0.0 && std::isfinite(static_cast<float>(v)),
          "{}: \"{}\" = {} must be a positive finite number", source, key, v);
  return v;
}

// The dict HF 4.x and 5.x both read back as the same scaling (null / "default" when unscaled).
json rope_scaling_json(const ModelConfig& c) {
  const RopeScaling& s = c.rope_scaling;
  switch (s.type) {
    case RopeScalingType::None: return nullptr;
    case RopeScalingType::Linear:
    case RopeScalingType::Dynamic: return {{"rope_type", rope_scaling_name(s.type)}, {"factor", s.factor}};
    case RopeScalingType::Llama3:
      return {{"rope_type", "llama3"},
              {"factor", s.factor},
              {"low_freq_factor", s.low_freq_factor},
              {"high_freq_factor", s.high_freq_factor},
              {"original_max_position_embeddings", s.original_max_position_embeddings}};
    case RopeScalingType::Yarn: {
      json y = {{"rope_type", "yarn"},
                {"factor", s.factor},
                {"original_max_position_embeddings", s.original_max_position_embeddings},
                {"beta_fast", s.beta_fast},
                {"beta_slow", s.beta_slow},
                {"truncate", s.truncate}};
      if (s.attention_factor) y["attention_factor"] = *s.attention_factor;
      if (s.mscale != 0.0) y["mscale"] = s.mscale;
      if (s.mscale_all_dim != 0.0) y["mscale_all_dim"] = s.mscale_all_dim;
      return y;
    }
    case RopeScalingType::FreqFactors: break;
  }
  fail("cannot write config.json: the GGUF's per-pair RoPE frequency factors (rope_freqs.weight) have no HF "
       "rope_scaling equivalent");
}

}  // namespace

ModelConfig model_config_from_hf_json(const json& j, const std::string& source) {
  require(j.is_object(), "{}: config is not a JSON object", source);
  require(j.contains("model_type") && j["model_type"].is_string(), "{}: missing string key \"model_type\"", source);
  const std::string model_type = j["model_type"].get<std::string>();
  const ArchDefaults* arch = find_arch(model_type);
  require(arch != nullptr, "{}: unsupported architecture '{}' (supported: llama, mistral, qwen2, qwen3)", source,
          model_type);
  if (j.contains("hidden_act") && !j["hidden_act"].is_null())
    require(j["hidden_act"] == "silu", "{}: \"hidden_act\" {} is not supported (only \"silu\")", source,
            j["hidden_act"].dump());

  ModelConfig c;
  c.architecture = model_type == "mistral" ? "llama" : model_type;  // the same tensors and forward pass
  if (j.contains("_name_or_path") && j["_name_or_path"].is_string()) c.name = j["_name_or_path"].get<std::string>();
  c.n_layers = int_key(j, "num_hidden_layers", source);
  c.hidden = int_key(j, "hidden_size", source);
  c.n_heads = int_key(j, "num_attention_heads", source);
  c.n_kv_heads = int_key(j, "num_key_value_heads", source, c.n_heads);
  require(c.n_heads > 0, "{}: \"num_attention_heads\" = {} must be positive", source, c.n_heads);
  c.head_dim = int_key(j, "head_dim", source, c.hidden / c.n_heads);
  c.ffn_hidden = int_key(j, "intermediate_size", source);
  c.vocab_size = int_key(j, "vocab_size", source);
  c.context_length = int_key(j, "max_position_embeddings", source, arch->max_position_embeddings);
  if (model_type == "mistral") {
    // Mistral's sliding window (every layer attends to the last W positions) equals full attention for the first W
    // tokens: the engine runs that exactly, so the context stops at the window (Mistral v0.2+ sets it null: none).
    const int window = int_key(j, "sliding_window", source, 0);
    require(window >= 0, "{}: \"sliding_window\" = {} must be >= 0", source, window);
    if (window > 0 && window < c.context_length) {
      spdlog::warn("{}: mistral sliding_window {}: the context is capped at {} tokens (within the window, sliding "
                   "attention is full attention; FluxScope does not run the window past it)",
                   source, window, window);
      c.context_length = window;
    }
  }
  c.rms_eps = static_cast<float>(float_key(j, "rms_norm_eps", source).value_or(1e-6));
  c.rope_theta = static_cast<float>(rope_theta_from_hf(j, source));
  c.rope_scaling = rope_scaling_from_hf(j, c.context_length, source);
  c.tied_embeddings = bool_key(j, "tie_word_embeddings", source, false);
  c.qk_norm = arch->qk_norm;
  // Qwen2 always has q/k/v biases and its config has no key for them; llama and qwen3 declare attention_bias.
  c.attention_bias = arch->attention_bias || bool_key(j, "attention_bias", source, false);
  validate(c, source);
  return c;
}

ModelConfig model_config_from_hf_file(const std::filesystem::path& path) {
  const std::string text = read_input_file(path, "model config", std::size_t{16} << 20);
  const std::optional<json> j = parse_json_limited(text, path.string());
  require(j.has_value(), "{}: not valid JSON", path.string());
  return model_config_from_hf_json(*j, path.string());
}

json hf_config_json(const ModelConfig& c, const HfConfigExtras& extras) {
  const ArchDefaults* arch = find_arch(c.architecture);
  // Loaded Mistral configs are llama (model_config_from_hf_json): the writer has no sliding window to write.
  require(arch != nullptr && c.architecture != "mistral",
          "cannot write config.json: unsupported architecture '{}' (supported: llama, qwen2, qwen3)", c.architecture);
  const double theta = clean_double(c.rope_theta);
  json j = {
      {"architectures", {arch->hf_class}},
      {"model_type", arch->model_type},
      {"hidden_act", "silu"},
      {"hidden_size", c.hidden},
      {"intermediate_size", c.ffn_hidden},
      {"num_hidden_layers", c.n_layers},
      {"num_attention_heads", c.n_heads},
      {"num_key_value_heads", c.n_kv_heads},
      {"head_dim", c.head_dim},
      {"max_position_embeddings", c.context_length},
      {"vocab_size", c.vocab_size},
      {"rms_norm_eps", clean_double(c.rms_eps)},
      // 4.x reads rope_theta; 5.x reads rope_parameters (and still converts a legacy rope_theta).
      {"rope_theta", theta},
      {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", theta}}},
      {"rope_scaling", rope_scaling_json(c)},
      {"tie_word_embeddings", c.tied_embeddings},
      {"attention_dropout", 0.0},
      {"initializer_range", 0.02},
      {"use_cache", true},
      {"torch_dtype", extras.torch_dtype},
      {"dtype", extras.torch_dtype},
  };
  if (!j["rope_scaling"].is_null()) {
    json params = j["rope_scaling"];
    params["rope_theta"] = theta;
    j["rope_parameters"] = params;
  }
  if (c.architecture != "qwen2") j["attention_bias"] = c.attention_bias;
  if (c.architecture == "llama") {
    j["mlp_bias"] = false;
    j["pretraining_tp"] = 1;
  } else {
    j["use_sliding_window"] = false;
    j["sliding_window"] = nullptr;
    j["max_window_layers"] = c.n_layers;
  }
  auto put_id = [&](const char* key, const std::optional<int64_t>& id) {
    if (id) j[key] = *id;
  };
  put_id("bos_token_id", extras.bos_token_id);
  put_id("eos_token_id", extras.eos_token_id);
  put_id("pad_token_id", extras.pad_token_id);
  return j;
}

}  // namespace flux::engine
