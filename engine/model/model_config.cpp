#include "engine/model/model_config.h"

#include <cmath>

#include "engine/core/error.h"

namespace flux::engine {

const char* rope_scaling_name(RopeScalingType type) {
  switch (type) {
    case RopeScalingType::None: return "none";
    case RopeScalingType::Linear: return "linear";
    case RopeScalingType::Dynamic: return "dynamic";
    case RopeScalingType::Llama3: return "llama3";
    case RopeScalingType::Yarn: return "yarn";
    case RopeScalingType::FreqFactors: return "rope_freqs";
  }
  return "?";
}

namespace {
void validate_rope_scaling(const ModelConfig& c, const std::string& source) {
  const RopeScaling& s = c.rope_scaling;
  const char* name = rope_scaling_name(s.type);
  auto positive = [&](double v, const char* field) {
    require(std::isfinite(v) && v > 0.0, "{}: rope scaling '{}': {} = {} must be a positive finite number", source,
            name, field, v);
  };
  switch (s.type) {
    case RopeScalingType::None: return;
    case RopeScalingType::FreqFactors:
      require(static_cast<int>(s.freq_factors.size()) == c.head_dim / 2,
              "{}: rope_freqs.weight has {} values, expected head_dim / 2 = {}", source, s.freq_factors.size(),
              c.head_dim / 2);
      for (float f : s.freq_factors)
        require(std::isfinite(f) && f > 0.0f, "{}: rope_freqs.weight holds {} (must be positive and finite)", source,
                static_cast<double>(f));
      return;
    case RopeScalingType::Llama3:
      positive(s.low_freq_factor, "low_freq_factor");
      positive(s.high_freq_factor, "high_freq_factor");
      require(s.high_freq_factor != s.low_freq_factor,
              "{}: rope scaling 'llama3': high_freq_factor must differ from low_freq_factor (both {})", source,
              s.high_freq_factor);
      [[fallthrough]];
    case RopeScalingType::Linear:
    case RopeScalingType::Dynamic:
    case RopeScalingType::Yarn:
      positive(s.factor, "factor");
      if (s.type != RopeScalingType::Linear)
        require(s.original_max_position_embeddings > 0,
                "{}: rope scaling '{}': original_max_position_embeddings = {} must be positive", source, name,
                s.original_max_position_embeddings);
      if (s.type == RopeScalingType::Yarn) {
        positive(s.beta_fast, "beta_fast");
        positive(s.beta_slow, "beta_slow");
        if (s.attention_factor) positive(*s.attention_factor, "attention_factor");
      }
      return;
  }
}
}  // namespace

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
  require(std::isfinite(c.rope_theta) && c.rope_theta > 0.0f, "{}: rope_theta {} must be a positive finite number",
          source, c.rope_theta);
  validate_rope_scaling(c, source);
}

}  // namespace flux::engine
