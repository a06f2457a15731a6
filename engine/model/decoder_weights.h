// The weights of a decoder-only transformer, uploaded to a backend. Names follow the HF checkpoints.
#pragma once

#include <cstddef>
#include <vector>

#include "engine/backend/tensor.h"

namespace flux::engine {

struct LayerWeights {
  Tensor input_norm;                    // [1, hidden]
  Tensor q_proj, k_proj, v_proj, o_proj;  // [out, in]
  Tensor q_bias, k_bias, v_bias;        // qwen2 only, [1, out]
  Tensor q_norm, k_norm;                // qwen3 only, [1, head_dim]
  Tensor post_attention_norm;           // [1, hidden]
  Tensor gate_proj, up_proj, down_proj;
};

struct DecoderWeights {
  Tensor embed_tokens;  // [vocab, hidden]
  std::vector<LayerWeights> layers;
  Tensor final_norm;    // [1, hidden]
  Tensor lm_head;       // [vocab, hidden]; shares embed_tokens' storage when embeddings are tied
};

// Bytes the backend holds for these weights (each storage counted once: tied embeddings share one).
std::size_t weight_bytes(const DecoderWeights& weights);

}  // namespace flux::engine
