// HF transformers config.json <-> ModelConfig for the supported architectures (llama, qwen2, qwen3): reading for
// safetensors models, writing for the `convert` command's output.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "engine/model/model_config.h"

namespace flux::engine {

// `source` names the origin in error messages (usually the config.json path). Throws Error for an unsupported
// model_type, a missing required key, a key of the wrong JSON type (naming the key), or a config failing validate().
ModelConfig model_config_from_hf_json(const nlohmann::json& config, const std::string& source);
ModelConfig model_config_from_hf_file(const std::filesystem::path& config_json);

struct HfConfigExtras {
  std::optional<int64_t> bos_token_id, eos_token_id, pad_token_id;
  std::string torch_dtype = "bfloat16";
};

// A config.json that HF transformers 4.x and 5.x load as LlamaForCausalLM / Qwen2ForCausalLM / Qwen3ForCausalLM.
nlohmann::json hf_config_json(const ModelConfig& config, const HfConfigExtras& extras = {});

}  // namespace flux::engine
