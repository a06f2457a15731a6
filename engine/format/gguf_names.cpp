#include "engine/format/gguf_names.h"

#include <charconv>

namespace flux::engine {
namespace {

struct NamePair {
  std::string_view gguf;
  std::string_view hf;
};

// Whole-model tensors (full names, suffix included).
constexpr NamePair kGlobal[] = {
    {"token_embd.weight", "model.embed_tokens.weight"},
    {"output_norm.weight", "model.norm.weight"},
    {"output.weight", "lm_head.weight"},
};

// Per-layer tensors, without the "blk.N." / "model.layers.N." prefix and without the ".weight"/".bias" suffix.
constexpr NamePair kLayer[] = {
    {"attn_q", "self_attn.q_proj"},      {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},      {"attn_output", "self_attn.o_proj"},
    {"attn_q_norm", "self_attn.q_norm"}, {"attn_k_norm", "self_attn.k_norm"},
    {"attn_norm", "input_layernorm"},    {"ffn_norm", "post_attention_layernorm"},
    {"ffn_gate", "mlp.gate_proj"},       {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
};

// Splits "<prefix><N>.<body>.<weight|bias>" into N, body and suffix; nullopt if the shape does not match.
struct LayerName {
  std::string_view index, body, suffix;
};

std::optional<LayerName> split_layer_name(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix)) return std::nullopt;
  name.remove_prefix(prefix.size());
  const auto dot = name.find('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  const std::string_view index = name.substr(0, dot);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(index.data(), index.data() + index.size(), value);
  if (ec != std::errc() || end != index.data() + index.size() || (index.size() > 1 && index[0] == '0'))
    return std::nullopt;
  name.remove_prefix(dot + 1);
  for (std::string_view suffix : {std::string_view(".weight"), std::string_view(".bias")}) {
    if (name.ends_with(suffix)) return LayerName{index, name.substr(0, name.size() - suffix.size()), suffix};
  }
  return std::nullopt;
}

std::optional<std::string> translate(std::string_view name, bool to_hf) {
  for (const auto& p : kGlobal)
    if (name == (to_hf ? p.gguf : p.hf)) return std::string(to_hf ? p.hf : p.gguf);
  const auto parts = split_layer_name(name, to_hf ? "blk." : "model.layers.");
  if (!parts) return std::nullopt;
  for (const auto& p : kLayer) {
    if (parts->body != (to_hf ? p.gguf : p.hf)) continue;
    std::string out = to_hf ? "model.layers." : "blk.";
    out.append(parts->index).append(".").append(to_hf ? p.hf : p.gguf).append(parts->suffix);
    return out;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> hf_name_from_gguf(std::string_view gguf_name) {
  return translate(gguf_name, true);
}
std::optional<std::string> gguf_name_from_hf(std::string_view hf_name) {
  return translate(hf_name, false);
}

}  // namespace flux::engine
