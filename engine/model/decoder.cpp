#include "engine/model/decoder.h"

#include <algorithm>
#include <string>
#include <vector>

#include "engine/core/error.h"
#include "engine/core/nvtx_range.h"
#include "engine/model/rope_frequencies.h"

namespace flux::engine {

Decoder::Decoder(const ModelConfig& config, DecoderWeights weights, Backend& backend)
    : config_(config), weights_(std::move(weights)), backend_(backend), rope_(rope_frequencies(config_)) {
  require(static_cast<int>(weights_.layers.size()) == config_.n_layers, "decoder: {} layer weights for {} layers",
          weights_.layers.size(), config_.n_layers);
}

Tensor Decoder::embed(std::span<const int32_t> tokens) {
  Tensor x = backend_.empty(static_cast<int64_t>(tokens.size()), config_.hidden);
  backend_.embed(weights_.embed_tokens, tokens, x);
  return x;
}

// q, k, v = projections of norm(x) (+ bias for qwen2). Neither the per-head norm (qwen3) nor RoPE is applied yet.
void Decoder::project_qkv(const LayerWeights& w, const Tensor& x, Tensor& q, Tensor& k, Tensor& v) {
  backend_.norm_matmul_qkv(x, w.input_norm, config_.rms_eps, w.q_proj, w.k_proj, w.v_proj, q, k, v);
  if (config_.attention_bias) {
    backend_.add_bias(q, w.q_bias);
    backend_.add_bias(k, w.k_bias);
    backend_.add_bias(v, w.v_bias);
  }
}

Backend::QkNorm Decoder::qk_norm(const LayerWeights& w) const {
  if (!config_.qk_norm) return {};
  return Backend::QkNorm{&w.q_norm, &w.k_norm, config_.rms_eps};
}

// x += attn · Woᵀ; then the SwiGLU MLP with its own residual.
void Decoder::finish_layer(const LayerWeights& w, Tensor& x, const Tensor& attn) {
  const int64_t n = x.rows;
  residual_add(attn, w.o_proj, x);
  Tensor act = backend_.empty(n, config_.ffn_hidden);
  backend_.norm_matmul_swiglu(x, w.post_attention_norm, config_.rms_eps, w.gate_proj, w.up_proj, act);
  residual_add(act, w.down_proj, x);
}

void Decoder::residual_add(const Tensor& in, const Tensor& w, Tensor& x) {
  if (!reduce_) {
    backend_.matmul_add(in, w, x);
    return;
  }
  Tensor partial = backend_.empty(x.rows, x.cols);
  backend_.matmul(in, w, partial);
  reduce_(partial);
  backend_.add(x, partial);
}

AttentionStats Decoder::prefill_layer(int layer, Tensor& x, int64_t pos0, KvCache& kv, const RouteFn& route,
                                      int64_t chunk, bool record_mask) {
  const LayerWeights& w = weights_.layers.at(static_cast<std::size_t>(layer));
  const int64_t n = x.rows;
  const int64_t step = chunk > 0 ? std::min(chunk, n) : n;
  // Chunk boundaries: rows [r0, r0 + rows) of the prompt.
  auto for_chunks = [&](const std::function<void(int64_t r0, int64_t rows)>& body) {
    for (int64_t r0 = 0; r0 < n; r0 += step) body(r0, std::min(step, n - r0));
  };

  Tensor q = backend_.empty(n, config_.q_dim());
  Tensor k = backend_.empty(n, config_.kv_dim());
  Tensor v = backend_.empty(n, config_.kv_dim());
  for_chunks([&](int64_t r0, int64_t rows) {
    Tensor qc = backend_.row_view(q, r0, rows), kc = backend_.row_view(k, r0, rows),
           vc = backend_.row_view(v, r0, rows);
    project_qkv(w, backend_.row_view(x, r0, rows), qc, kc, vc);
  });
  if (const Backend::QkNorm norm = qk_norm(w); norm.q != nullptr) {
    backend_.head_rms_norm(q, *norm.q, config_.head_dim, norm.eps);
    backend_.head_rms_norm(k, *norm.k, config_.head_dim, norm.eps);
  }
  const AttentionPlan plan = route(layer, q, k);
  // Dynamic NTK rotates the whole prefill by the frequencies of its length (HF: max(position_ids) + 1).
  const RopeTable rope = rope_.dynamic.active() ? rope_frequencies(config_, pos0 + n) : rope_;
  backend_.rope(q, pos0, rope);
  backend_.rope(k, pos0, rope);
  kv.store(layer, pos0, k, v);
  k = Tensor{};  // the cache holds them now
  v = Tensor{};

  const int64_t n_kv = pos0 + n;
  AttentionStats stats;
  std::vector<TimeSpan> spans;  // around each attention call, left unread (no wait per chunk)
  auto attend = [&](const Tensor& queries, int64_t q_pos0, int64_t keys, Tensor& attn) {
    const NvtxRange range(fmt::format("L{} attention {}", layer, attention_mode_name(plan.mode)));
    const TimeMark start = backend_.mark();
    AttentionStats s = backend_.attention_prefill(queries, kv.keys(layer), kv.values(layer), q_pos0, keys,
                                                  config_.n_heads, config_.n_kv_heads, config_.head_dim, plan, attn,
                                                  record_mask);
    spans.push_back({start, backend_.mark()});
    return s;
  };
  if (plan.mode == AttentionMode::XAttention || step == n) {
    Tensor attn = backend_.empty(n, config_.q_dim());
    stats = attend(q, pos0, n_kv, attn);
    q = Tensor{};
    for_chunks([&](int64_t r0, int64_t rows) {
      Tensor xc = backend_.row_view(x, r0, rows);
      finish_layer(w, xc, backend_.row_view(attn, r0, rows));
    });
  } else {
    for_chunks([&](int64_t r0, int64_t rows) {
      // Full and streaming masks do not depend on the prompt length, so keys past the chunk are not needed; the
      // triangle's dense rows are the last n_last of the whole prompt, so it must see the prompt's true length.
      const int64_t chunk_kv = plan.mode == AttentionMode::Triangle ? n_kv : pos0 + r0 + rows;
      Tensor attn = backend_.empty(rows, config_.q_dim());
      // The last chunk's lists span every query block, so its density is the whole prompt's.
      stats = attend(backend_.row_view(q, r0, rows), pos0 + r0, chunk_kv, attn);
      Tensor xc = backend_.row_view(x, r0, rows);
      finish_layer(w, xc, attn);
    });
  }
  stats.attention_spans = std::move(spans);
  return stats;
}

Tensor Decoder::embed_step(const DecodeStep& step) {
  Tensor x = backend_.empty(1, config_.hidden);
  backend_.embed_step(weights_.embed_tokens, step, x);
  return x;
}

void Decoder::decode_layer(int layer, Tensor& x, const DecodeStep& step, KvCache& kv) {
  const LayerWeights& w = weights_.layers.at(static_cast<std::size_t>(layer));
  Tensor q = backend_.empty(1, config_.q_dim());
  Tensor k = backend_.empty(1, config_.kv_dim());
  Tensor v = backend_.empty(1, config_.kv_dim());
  project_qkv(w, x, q, k, v);
  // QK-norm, RoPE and the cache store: one op (one launch on CUDA).
  const KvCache::StepTarget cache = kv.step_target(layer, k.cols);
  backend_.attention_inputs_step(q, k, v, qk_norm(w), step, rope_, cache.layout, cache.k, cache.v);

  Tensor attn = backend_.empty(1, config_.q_dim());
  backend_.attention_decode_step(q, kv.keys(layer), kv.values(layer), step, kv.layout(layer), config_.n_heads,
                                 config_.n_kv_heads, config_.head_dim, attn);
  finish_layer(w, x, attn);
}

Tensor Decoder::logits(const Tensor& x) {
  Tensor out = backend_.empty(x.rows, config_.vocab_size);
  backend_.norm_matmul(x, weights_.final_norm, config_.rms_eps, weights_.lm_head, out);
  return out;
}

}  // namespace flux::engine
