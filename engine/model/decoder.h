// The forward pass of a Llama/Qwen-style decoder, written once against the Backend seam: a readable transcription of
// norm → qkv → route → rope → attend → o_proj → mlp. Routing is a callback so the router can see pre-RoPE queries and keys.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

#include "engine/backend/backend.h"
#include "engine/backend/rope_table.h"
#include "engine/model/decoder_weights.h"
#include "engine/model/model_config.h"
#include "engine/runtime/kv_cache.h"

namespace flux::engine {

// Decides a layer's attention during prefill from its pre-RoPE queries [n, Hq·d] (after q_norm) and keys [n, Hkv·d].
using RouteFn =
    std::function<AttentionPlan(int layer, const Tensor& queries_before_rope, const Tensor& keys_before_rope)>;

class Decoder {
 public:
  Decoder(const ModelConfig& config, DecoderWeights weights, Backend& backend);

  const ModelConfig& config() const { return config_; }
  Backend& backend() { return backend_; }
  std::size_t weight_bytes() const { return flux::engine::weight_bytes(weights_); }
  const DecoderWeights& weights() const { return weights_; }

  // Embeds tokens into hidden states [n, hidden].
  Tensor embed(std::span<const int32_t> tokens);
  // Runs layer l over hidden states x [n, hidden] at positions [pos0, pos0 + n), storing its keys/values.
  // chunk > 0 bounds the rows of every activation but q (projections, attention queries, MLP) so long prompts fit:
  // keys and values of the whole prompt are stored first, then chunk c's queries attend keys [0, end of chunk c)
  // (triangle: [0, pos0 + n), its dense rows are the prompt's last ones). XAttention scores the whole prompt, so its
  // attention runs in one call; the rest of the layer stays chunked. Same result as chunk = 0 (one pass).
  // The stats carry the spans of the attention calls alone (one per chunk, unread: timing adds no wait) and, with
  // record_mask, an XAttention selection.
  AttentionStats prefill_layer(int layer, Tensor& x, int64_t pos0, KvCache& kv, const RouteFn& route,
                               int64_t chunk = 0, bool record_mask = false);
  // Embeds the decode step's token: [1, hidden].
  Tensor embed_step(const DecodeStep& step);
  // One decode step of layer l for a single token x [1, hidden] at the step's position (read where the work runs,
  // so the same calls serve a recorded step). The caller advances the cache's host count after the step.
  void decode_layer(int layer, Tensor& x, const DecodeStep& step, KvCache& kv);
  // Final norm + lm_head on the given rows of x: logits [rows, vocab].
  Tensor logits(const Tensor& x);

  // Tensor parallelism (engine/parallel/tensor_parallel.h): a rank's o_proj and down_proj see only its heads and
  // MLP units, so each residual add's product x·Wᵀ is summed over the ranks by `reduce` before it is added.
  using ResidualReduce = std::function<void(Tensor& partial)>;
  void set_residual_reduce(ResidualReduce reduce) { reduce_ = std::move(reduce); }

 private:
  // norm + q/k/v projections (+ bias) of x's rows into the given (same-row-count) outputs; no QK-norm, no RoPE.
  void project_qkv(const LayerWeights& w, const Tensor& x, Tensor& q, Tensor& k, Tensor& v);
  Backend::QkNorm qk_norm(const LayerWeights& w) const;  // the layer's QK-norm weights (none but for qwen3)
  void finish_layer(const LayerWeights& w, Tensor& x, const Tensor& attn);
  void residual_add(const Tensor& in, const Tensor& w, Tensor& x);  // x += in · Wᵀ (summed over ranks: reduce_)

  ModelConfig config_;
  DecoderWeights weights_;
  Backend& backend_;
  RopeTable rope_;  // engine/model/rope_frequencies.h; a dynamic-NTK prefill makes its own for its length
  ResidualReduce reduce_;
};

}  // namespace flux::engine
