// GGUF tensor names <-> HF transformers canonical names for llama-family decoders (the table transformers'
// integrations/ggml.py uses), so loaders can address weights by one naming scheme.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace flux::engine {

// "blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight"; nullopt for names outside the table.
std::optional<std::string> hf_name_from_gguf(std::string_view gguf_name);
// The inverse: "model.layers.3.mlp.down_proj.weight" -> "blk.3.ffn_down.weight".
std::optional<std::string> gguf_name_from_hf(std::string_view hf_name);

}  // namespace flux::engine
