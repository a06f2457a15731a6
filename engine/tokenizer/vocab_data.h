// A tokenizer's vocabulary as stored in a model file, before any tokenizer is built from it: the neutral hand-off
// between loaders (GGUF metadata, HF tokenizer.json) and the tokenizer implementations.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace flux::engine {

// GGUF tokenizer.ggml.token_type values.
enum class TokenType : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct VocabData {
  std::string model;                 // "gpt2" (byte-level BPE) or "llama" (SentencePiece)
  std::string pre;                   // pre-tokenizer id: "smollm", "llama-bpe", "qwen2", "gpt2", "default", ...
  std::vector<std::string> tokens;   // id -> piece (byte-level BPE pieces are in the GPT-2 byte-to-unicode alphabet)
  std::vector<float> scores;         // SentencePiece scores (may be empty for BPE)
  std::vector<TokenType> token_types;  // may be empty: then all Normal
  std::vector<std::string> merges;   // BPE merges "a b", rank = index
  std::optional<int32_t> bos_id, eos_id, unk_id, pad_id, eot_id;
  std::optional<bool> add_bos, add_eos;
  std::optional<bool> add_space_prefix;  // SentencePiece: add a dummy prefix space (tokenizer.ggml.add_space_prefix)
  std::string chat_template;         // Jinja text from the model file, may be empty
  // HF tokenizer_config.json may hold a list of {name, template}: every one by name ("default" is chat_template).
  std::map<std::string, std::string> named_chat_templates;
};

}  // namespace flux::engine
