#include "engine/runtime/session.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"
#include "engine/core/nvtx_range.h"

namespace flux::engine {

Session::Session(Decoder& decoder, int64_t capacity, const std::atomic<bool>* cancel)
    : decoder_(decoder),
      kv_(decoder.backend(), decoder.config().n_layers, decoder.config().kv_dim(), capacity),
      cancel_(cancel) {}

void Session::check_cancel() const {
  if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) throw Cancelled();
}

Tensor Session::run_prefill(std::span<const int32_t> tokens, const RoutingPlan& plan,
                            const std::function<void(const LayerReport&)>& on_layer) {
  const ModelConfig& cfg = decoder_.config();
  require(!tokens.empty(), "prefill: the prompt is empty");
  require(position_ == 0, "prefill: this session already holds {} positions; start a new session", position_);
  require(static_cast<int>(plan.layers.size()) == cfg.n_layers, "prefill: routing plan has {} layers, model has {}",
          plan.layers.size(), cfg.n_layers);
  require(static_cast<int64_t>(tokens.size()) <= kv_.capacity(), "prefill: {} prompt tokens exceed the capacity {}",
          tokens.size(), kv_.capacity());
  Backend& backend = decoder_.backend();
  Tensor x = decoder_.embed(tokens);
  for (int l = 0; l < cfg.n_layers; ++l) {
    check_cancel();
    const NvtxRange range(fmt::format("L{} prefill", l));
    const TimeMark start = backend.mark();
    LayerRoute route = plan.layers[static_cast<std::size_t>(l)];
    AttentionPlan attention = plan.attention_for(l);
    double router_ms = 0.0;
    std::vector<float> router_logits;
    const AttentionStats stats = decoder_.prefill_layer(
        l, x, 0, kv_,
        [&](int layer, const Tensor& queries, const Tensor& keys) {
          if (!(route.from_router || route.router_opinion) || router_ == nullptr) return attention;
          const RouterDecision d =
              run_router(layer, router_->family() == RouterFamily::Flux ? queries : keys, router_ms);
          route.router_score = d.score;
          router_logits = d.logits;
          if (!route.from_router) return attention;  // an override: the router's opinion is reported, not followed
          route.mode = decide_layer(d.score, route.router_threshold);
          route.source = DecisionSource::Router;
          attention = plan.attention_of(route.mode);
          return attention;
        },
        prefill_chunk_, record_block_masks_);
    kv_.prepare_decode(l, route.mode, attention);  // SA per attention.decode: FluxScope streaming evicts, Reference never
    const TimeMark end = backend.mark();
    if (on_layer) {
      LayerReport r;
      r.index = l;
      r.mode = route.mode;
      r.attention = attention_mode_name(attention.mode);
      r.router_score = route.router_score;
      r.router_logits = router_logits;
      r.router_threshold = route.router_threshold;
      r.source = route.source;
      r.prefill_ms = backend.elapsed_ms(start, end);  // waits for the layer: its attention spans are done too
      r.router_ms = router_ms;
      r.attention_ms = spans_ms(backend, stats.attention_spans);
      if (stats.mask) r.block_mask = std::make_shared<const BlockMask>(stats.mask());
      r.kv_bytes = kv_.bytes(l);
      r.kv_bytes_kept = kv_.bytes_kept(l);
      r.kv_bytes_read = kv_.bytes_read(l);
      r.kv_bytes_new = kv_.bytes_new(l, static_cast<int64_t>(tokens.size()));
      r.density = stats.density;
      on_layer(r);
    }
  }
  position_ = static_cast<int64_t>(tokens.size());
  return x;
}

RouterDecision Session::run_router(int layer, const Tensor& states, double& compute_ms) {
  // Pooling and the MLP run on the backend; only the head's outputs come back. Flux pools every query head of the
  // pooled tokens into one mean, so its input is viewed as [n · Hq, d] rows (same storage) and pooled at once.
  const int head_dim = router_->config().head_dim;
  require(head_dim > 0 && states.cols % head_dim == 0, "router: input width {} is not heads of {}", states.cols,
          head_dim);
  const int n_heads = static_cast<int>(states.cols / head_dim);
  const RouterPooling pooling = router_pooling(router_->config(), states.rows, n_heads);
  Tensor rows = states;
  rows.rows = states.rows * pooling.heads_per_row;
  rows.cols = states.cols / pooling.heads_per_row;
  const Backend::PooledMlp out = decoder_.backend().pooled_mlp(rows, pooling.ranges, router_->mlp(layer));
  compute_ms = out.compute_ms;
  const RouterDecision d = router_->decide_logits(out.out);
  check_router_score(d.score, layer);
  return d;
}

void Session::set_prefill_chunk(int64_t rows) {
  require(rows >= 0, "prefill chunk {} must be >= 0 (0 = the whole prompt)", rows);
  prefill_chunk_ = rows;
}

Tensor Session::prefill_logits(std::span<const int32_t> tokens, const RoutingPlan& plan,
                               const std::function<void(const LayerReport&)>& on_layer) {
  Tensor x = run_prefill(tokens, plan, on_layer);
  // Only the last row: [n, vocab] logits of a 128K prompt would be 39 GB on Qwen3-8B.
  return decoder_.logits(decoder_.backend().row_view(x, x.rows - 1, 1));
}

std::vector<float> Session::prefill(std::span<const int32_t> tokens, const RoutingPlan& plan,
                                    const std::function<void(const LayerReport&)>& on_layer) {
  const Tensor logits = prefill_logits(tokens, plan, on_layer);
  std::vector<float> out(static_cast<std::size_t>(logits.numel()));
  decoder_.backend().download(logits, out);
  return out;
}

std::vector<float> Session::prefill_all_logits(std::span<const int32_t> tokens, const RoutingPlan& plan) {
  Tensor x = run_prefill(tokens, plan, {});
  const Tensor logits = decoder_.logits(x);
  std::vector<float> out(static_cast<std::size_t>(logits.numel()));
  decoder_.backend().download(logits, out);
  return out;
}

std::vector<double> Session::prefill_target_logprobs(std::span<const int32_t> tokens, const RoutingPlan& plan,
                                                     int64_t first_target,
                                                     const std::function<void(const LayerReport&)>& on_layer,
                                                     int64_t block_rows) {
  const auto n = static_cast<int64_t>(tokens.size());
  require(first_target >= 1 && first_target < n, "scoring: first target {} outside 1..{} (a prompt of {} tokens)",
          first_target, n - 1, n);
  require(block_rows > 0, "scoring: block of {} rows must be > 0", block_rows);
  const int vocab = decoder_.config().vocab_size;
  for (int64_t k = first_target; k < n; ++k)
    require(tokens[static_cast<std::size_t>(k)] >= 0 && tokens[static_cast<std::size_t>(k)] < vocab,
            "token id {} is outside the vocabulary (0..{})", tokens[static_cast<std::size_t>(k)], vocab - 1);
  Tensor x = run_prefill(tokens, plan, on_layer);
  Backend& backend = decoder_.backend();
  std::vector<double> out;
  out.reserve(static_cast<std::size_t>(n - first_target));
  std::vector<float> host;
  // Row p of x predicts token p + 1: rows [first_target − 1, n − 1) score targets [first_target, n).
  for (int64_t row0 = first_target - 1; row0 < n - 1; row0 += block_rows) {
    check_cancel();
    const int64_t rows = std::min(block_rows, n - 1 - row0);
    const Tensor logits = decoder_.logits(backend.row_view(x, row0, rows));
    host.resize(static_cast<std::size_t>(logits.numel()));
    backend.download(logits, host);
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = host.data() + r * vocab;
      const float max = *std::max_element(row, row + vocab);
      double sum = 0.0;
      for (int v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(row[v]) - max);
      const int32_t target = tokens[static_cast<std::size_t>(row0 + r + 1)];
      out.push_back(static_cast<double>(row[target]) - max - std::log(sum));
    }
  }
  return out;
}

Tensor Session::decode_logits(int32_t token) {
  check_cancel();
  const ModelConfig& cfg = decoder_.config();
  require(position_ > 0, "decode: run prefill first");
  require(position_ < kv_.capacity(), "decode: the context of {} positions is full", kv_.capacity());
  require(token >= 0 && token < cfg.vocab_size, "token id {} is outside the vocabulary (0..{})", token,
          cfg.vocab_size - 1);
  Backend& backend = decoder_.backend();
  if (!decode_step_.storage) {
    decode_step_ = backend.make_decode_step();
    step_logits_ = backend.empty(1, cfg.vocab_size);
  }
  backend.set_decode_step(decode_step_, token, position_);
  if (!decode_record_tried_) {
    decode_record_tried_ = true;
    decode_recording_ = backend.record([this] { run_decode_step(); });
  }
  const NvtxRange range(fmt::format("decode step {}", position_));  // a replay too: the recorded step's launch
  if (decode_recording_) {
    backend.replay(decode_recording_);
  } else {
    run_decode_step();
  }
  kv_.advance(position_);
  ++position_;
  return step_logits_;
}

void Session::run_decode_step() {
  Tensor x = decoder_.embed_step(decode_step_);
  for (int l = 0; l < decoder_.config().n_layers; ++l) decoder_.decode_layer(l, x, decode_step_, kv_);
  const Tensor logits = decoder_.logits(x);
  decoder_.backend().copy_rows(logits, 0, step_logits_, 0, 1);
}

std::vector<float> Session::decode(int32_t token) {
  const Tensor logits = decode_logits(token);
  std::vector<float> out(static_cast<std::size_t>(logits.numel()));
  decoder_.backend().download(logits, out);
  return out;
}

}  // namespace flux::engine
