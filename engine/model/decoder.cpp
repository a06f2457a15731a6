#include "engine/model/decoder.h"

#include "engine/core/error.h"

namespace flux::engine {

Decoder::Decoder(const ModelConfig& config, DecoderWeights weights, Backend& backend)
    : config_(config), weights_(std::move(weights)), backend_(backend) {
  require(static_cast<int>(weights_.layers.size()) == config_.n_layers, "decoder: {} layer weights for {} layers",
          weights_.layers.size(), config_.n_layers);
}

Tensor Decoder::embed(std::span<const int32_t> tokens) {
  Tensor x = backend_.empty(static_cast<int64_t>(tokens.size()), config_.hidden);
  backend_.embed(weights_.embed_tokens, tokens, x);
  return x;
}

// h = norm(x); q, k, v = projections of h (+ bias for qwen2; per-head norm for qwen3). RoPE is not applied yet.
void Decoder::attention_block_inputs(const LayerWeights& w, const Tensor& x, Tensor& h, Tensor& q, Tensor& k,
                                     Tensor& v) {
  const int64_t n = x.rows;
  h = backend_.empty(n, config_.hidden);
  backend_.rms_norm(x, w.input_norm, config_.rms_eps, h);
  q = backend_.empty(n, config_.q_dim());
  k = backend_.empty(n, config_.kv_dim());
  v = backend_.empty(n, config_.kv_dim());
  backend_.matmul(h, w.q_proj, q);
  backend_.matmul(h, w.k_proj, k);
  backend_.matmul(h, w.v_proj, v);
  if (config_.attention_bias) {
    backend_.add_bias(q, w.q_bias);
    backend_.add_bias(k, w.k_bias);
    backend_.add_bias(v, w.v_bias);
  }
  if (config_.qk_norm) {
    backend_.head_rms_norm(q, w.q_norm, config_.head_dim, config_.rms_eps);
    backend_.head_rms_norm(k, w.k_norm, config_.head_dim, config_.rms_eps);
  }
}

// x += attn · Woᵀ; then the SwiGLU MLP with its own residual.
void Decoder::finish_layer(const LayerWeights& w, Tensor& x, const Tensor& attn) {
  const int64_t n = x.rows;
  Tensor o = backend_.empty(n, config_.hidden);
  backend_.matmul(attn, w.o_proj, o);
  backend_.add(x, o);

  Tensor h = backend_.empty(n, config_.hidden);
  backend_.rms_norm(x, w.post_attention_norm, config_.rms_eps, h);
  Tensor gate = backend_.empty(n, config_.ffn_hidden);
  Tensor up = backend_.empty(n, config_.ffn_hidden);
  backend_.matmul(h, w.gate_proj, gate);
  backend_.matmul(h, w.up_proj, up);
  backend_.swiglu(gate, up, gate);
  backend_.matmul(gate, w.down_proj, o);
  backend_.add(x, o);
}

AttentionStats Decoder::prefill_layer(int layer, Tensor& x, int64_t pos0, KvCache& kv, const RouteFn& route) {
  const LayerWeights& w = weights_.layers.at(static_cast<std::size_t>(layer));
  Tensor h, q, k, v;
  attention_block_inputs(w, x, h, q, k, v);
  const AttentionPlan plan = route(layer, k);
  backend_.rope(q, config_.head_dim, pos0, config_.rope_theta);
  backend_.rope(k, config_.head_dim, pos0, config_.rope_theta);
  kv.store(layer, pos0, k, v);

  Tensor attn = backend_.empty(x.rows, config_.q_dim());
  const AttentionStats stats =
      backend_.attention_prefill(q, kv.keys(layer), kv.values(layer), pos0, pos0 + x.rows, config_.n_heads,
                                 config_.n_kv_heads, config_.head_dim, plan, attn);
  finish_layer(w, x, attn);
  return stats;
}

void Decoder::decode_layer(int layer, Tensor& x, int64_t pos, KvCache& kv) {
  const LayerWeights& w = weights_.layers.at(static_cast<std::size_t>(layer));
  Tensor h, q, k, v;
  attention_block_inputs(w, x, h, q, k, v);
  backend_.rope(q, config_.head_dim, pos, config_.rope_theta);
  backend_.rope(k, config_.head_dim, pos, config_.rope_theta);
  kv.store(layer, pos, k, v);

  Tensor attn = backend_.empty(1, config_.q_dim());
  backend_.attention_decode(q, kv.keys(layer), kv.values(layer), kv.slots_in_use(layer), config_.n_heads,
                            config_.n_kv_heads, config_.head_dim, attn);
  finish_layer(w, x, attn);
}

Tensor Decoder::logits(const Tensor& x) {
  Tensor h = backend_.empty(x.rows, config_.hidden);
  backend_.rms_norm(x, weights_.final_norm, config_.rms_eps, h);
  Tensor out = backend_.empty(x.rows, config_.vocab_size);
  backend_.matmul(h, weights_.lm_head, out);
  return out;
}

}  // namespace flux::engine
