// Architecture-neutral hyperparameters of a decoder-only transformer, filled by the GGUF or HF config loaders.
// Architectures are data: flags such as qk_norm and tied_embeddings, not `if (arch == ...)` chains.
#pragma once

#include <cstdint>
#include <string>

namespace flux::engine {

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
  bool qk_norm = false;          // Qwen3: RMSNorm over each head of q and k before RoPE
  bool tied_embeddings = false;  // lm_head shares token embeddings
  bool attention_bias = false;   // qwen2: q/k/v projections carry a bias

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }
};

// Throws Error naming the first inconsistent field (zero sizes, heads not dividing, absurd dimensions).
void validate(const ModelConfig& config, const std::string& source);

}  // namespace flux::engine
