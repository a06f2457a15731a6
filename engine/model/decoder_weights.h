// The weights of a decoder-only transformer, uploaded to a backend. Names follow the HF checkpoints.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "engine/backend/tensor.h"

namespace flux::engine {
class Backend;
}

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
// Bytes of weights one decode step reads as stored (block quants at their size): all of them but the embedding
// table, of which one row is gathered — unless it is also the lm_head (tied), which reads it whole.
std::size_t decode_weight_bytes(const DecoderWeights& weights);

// How the matrices multiply on `backend` (Backend::weight_execution), the kinds by bytes, largest first, joined
// with " + ": "q4_1 x q8 + q8_0 x q8" for the demo model on the CPU, "bf16" on CUDA, "f32" for the reference.
std::string weight_execution(const DecoderWeights& weights, const Backend& backend);

}  // namespace flux::engine
