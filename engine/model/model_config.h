// Architecture-neutral hyperparameters of a decoder-only transformer, filled by the GGUF or HF config loaders.
// Architectures are data: flags such as qk_norm and tied_embeddings, not `if (arch == ...)` chains.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace flux::engine {

// How RoPE's frequencies are rescaled for contexts beyond the pretraining length, as HF transformers'
// `rope_scaling` / `rope_parameters` describes it (modeling_rope_utils.py) or a GGUF's rope.scaling.* keys and
// rope_freqs.weight tensor. engine/model/rope_frequencies.h turns it into the inverse frequencies.
enum class RopeScalingType {
  None,     // plain RoPE (HF "default")
  Linear,   // inv_freq / factor
  Dynamic,  // NTK: the base grows with the sequence length once it passes original_max_position_embeddings
  Llama3,   // Llama 3.1: low frequencies / factor, high kept, a smooth ramp between
  Yarn,     // NTK-by-parts ramp between interpolation and extrapolation, cos/sin times attention_factor
  FreqFactors,  // GGUF rope_freqs.weight: inv_freq[i] = base^(-2i/d) / freq_factors[i] (llama.cpp's Llama 3.1)
};

struct RopeScaling {
  RopeScalingType type = RopeScalingType::None;
  double factor = 1.0;
  double low_freq_factor = 1.0;   // llama3
  double high_freq_factor = 4.0;  // llama3
  // llama3, yarn: the pretraining context; dynamic: HF's max_position_embeddings (its threshold for growth).
  int original_max_position_embeddings = 0;
  double beta_fast = 32.0;  // yarn
  double beta_slow = 1.0;   // yarn
  std::optional<double> attention_factor;  // yarn: multiplies cos and sin; unset = from factor, mscale, mscale_all_dim
  double mscale = 0.0;                     // yarn (DeepSeek style), 0 = unset
  double mscale_all_dim = 0.0;             // yarn, 0 = unset
  bool truncate = true;                    // yarn: round the correction range to whole dimensions
  std::vector<float> freq_factors;         // FreqFactors: head_dim / 2 divisors
};

const char* rope_scaling_name(RopeScalingType type);

struct ModelConfig {
  std::string architecture;      // "llama", "qwen3", "qwen2"
  std::string name;              // human-readable, e.g. general.name
  int n_layers = 0;
  int hidden = 0;                // embedding_length
  int n_heads = 0;               // query heads
  int n_kv_heads = 0;            // key/value heads (GQA)
  int head_dim = 0;
  int ffn_hidden = 0;            // intermediate_size
  int vocab_size = 0;
  int context_length = 0;
  float rms_eps = 1e-5f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling;
  bool qk_norm = false;          // Qwen3: RMSNorm over each head of q and k before RoPE
  bool tied_embeddings = false;  // lm_head shares token embeddings
  bool attention_bias = false;   // qwen2: q/k/v projections carry a bias

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

// Throws Error naming the first inconsistent field (zero sizes, heads not dividing, absurd dimensions).
void validate(const ModelConfig& config, const std::string& source);

}  // namespace flux::engine
