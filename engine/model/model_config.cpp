#include "engine/model/model_config.h"

#include "engine/core/error.h"

namespace flux::engine {

void validate(const ModelConfig& c, const std::string& source) {
  // Bounds well above any real model but low enough that products cannot overflow 64-bit sizes.
  constexpr int kMaxDim = 1 << 20;
  auto in_range = [&](int v, const char* field, int max) {
    require(v > 0 && v <= max, "{}: {} = {} is out of range (1..{})", source, field, v, max);
  };
  in_range(c.n_layers, "n_layers", 1024);
  in_range(c.hidden, "hidden_size", kMaxDim);
  in_range(c.n_heads, "num_attention_heads", 4096);
  in_range(c.n_kv_heads, "num_key_value_heads", 4096);
  in_range(c.head_dim, "head_dim", 1024);
  in_range(c.ffn_hidden, "intermediate_size", kMaxDim);
  in_range(c.vocab_size, "vocab_size", 1 << 24);
  in_range(c.context_length, "context_length", 1 << 24);
  require(c.n_heads % c.n_kv_heads == 0, "{}: num_attention_heads {} is not a multiple of num_key_value_heads {}",
          source, c.n_heads, c.n_kv_heads);
  require(c.head_dim % 2 == 0, "{}: head_dim {} must be even for RoPE", source, c.head_dim);
  require(c.rms_eps > 0.0f && c.rms_eps < 1.0f, "{}: rms_norm_eps {} is out of range", source, c.rms_eps);
  require(c.rope_theta > 0.0f, "{}: rope_theta {} must be positive", source, c.rope_theta);
}

}  // namespace flux::engine
