// Hugging Face tokenizer files (tokenizer.json + tokenizer_config.json) for byte-level BPE: read into a VocabData, and
// written from one so that the `tokenizers`/transformers libraries load a tokenizer that gives the same ids.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/tokenizer/vocab_data.h"

namespace flux::engine {

// Reads `tokenizer_json` and, when present next to it, tokenizer_config.json (BOS/EOS, add_bos, chat template).
// Supports model.type "BPE" with the byte-level pre-tokenizers of gpt2, smollm, llama-bpe and qwen2; throws Error
// naming the file and what is unsupported or malformed otherwise.
VocabData vocab_from_hf_tokenizer_json(const std::filesystem::path& tokenizer_json);

// The same from parsed JSON; `config` (tokenizer_config.json) may be null. `origin` names the input in errors.
VocabData vocab_from_hf_tokenizer_json(const nlohmann::json& tokenizer, const nlohmann::json* config,
                                       const std::string& origin = "tokenizer.json");

// The chat templates of a tokenizer_config.json: a string, or the list form [{name, template}] (every one kept by
// name in named_chat_templates, "default" also as chat_template).
void read_hf_chat_templates(const nlohmann::json& config, VocabData& vocab);

// tokenizer.json content for a byte-level BPE vocabulary (model "gpt2"), with the standard HF pre-tokenizer of its
// pre id. Control tokens become special added tokens, user-defined ones non-special added tokens.
nlohmann::json hf_tokenizer_json(const VocabData& vocab);

// tokenizer_config.json content: bos/eos/unk/pad tokens, add_bos_token/add_eos_token and the chat template.
nlohmann::json hf_tokenizer_config_json(const VocabData& vocab);

// The pre id ("gpt2", "smollm", "llama-bpe", "qwen2", ...) of an HF pre_tokenizer object; throws Error when it is
// not one of them.
std::string pre_id_from_hf_pre_tokenizer(const nlohmann::json& pre_tokenizer);

}  // namespace flux::engine
