#include "engine/runtime/session.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <spdlog/spdlog.h>

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

namespace {

// One layer's prefill as the report shows it; with routing on the device it is filled in after the prefill.
struct LayerRun {
  LayerRoute route;
  AttentionPlan attention;
  AttentionStats stats;
  TimeMark start, end;
  double router_ms = 0.0;
  std::optional<TimeSpan> router_span;  // routed on the device: read once, after the prefill
  std::vector<float> router_logits;
};

}  // namespace

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
  backend.begin_run();
  const auto n = static_cast<int64_t>(tokens.size());
  // Routing on the device (Backend::route_on_device): no host round trip per layer where the backend has it, the
  // prefill runs in one pass and both plans have static block lists; the decisions and every layer's times are
  // read once, after the last layer, and the layer reports follow then.
  const bool device_routing = router_ != nullptr && backend.device_routing() &&
                              (prefill_chunk_ == 0 || prefill_chunk_ >= n) &&
                              plan.dense.mode != AttentionMode::XAttention &&
                              plan.sparse.mode != AttentionMode::XAttention;
  Backend::RouteTable table;
  if (device_routing) table = backend.make_route_table(cfg.n_layers);
  std::vector<LayerRun> runs;

  auto report = [&](int l, const LayerRun& run) {
    LayerReport r;
    r.index = l;
    r.mode = run.route.mode;
    r.attention = attention_mode_name(run.attention.mode);
    r.router_score = run.route.router_score;
    r.router_logits = run.router_logits;
    r.router_threshold = run.route.router_threshold;
    r.source = run.route.source;
    r.prefill_ms = backend.elapsed_ms(run.start, run.end);  // waits for the layer: its attention spans are done too
    r.router_ms = run.router_ms;
    r.attention_ms = spans_ms(backend, run.stats.attention_spans);
    if (run.stats.mask) r.block_mask = std::make_shared<const BlockMask>(run.stats.mask());
    r.kv_bytes = kv_.bytes(l);
    r.kv_bytes_kept = kv_.bytes_kept(l);
    r.kv_bytes_read = kv_.bytes_read(l);
    r.kv_bytes_new = kv_.bytes_new(l, n);
    r.density = run.stats.density;
    on_layer(r);
  };

  Tensor x = decoder_.embed(tokens);
  for (int l = 0; l < cfg.n_layers; ++l) {
    check_cancel();
    const NvtxRange range(fmt::format("L{} prefill", l));
    LayerRun run;
    run.start = backend.mark();
    run.route = plan.layers[static_cast<std::size_t>(l)];
    run.attention = plan.attention_for(l);
    LayerRoute& route = run.route;
    AttentionPlan& attention = run.attention;
    run.stats = decoder_.prefill_layer(
        l, x, 0, kv_,
        [&](int layer, const Tensor& queries, const Tensor& keys) {
          if (!(route.from_router || route.router_opinion) || router_ == nullptr) return attention;
          const Tensor& states = router_->family() == RouterFamily::Flux ? queries : keys;
          if (device_routing) {
            run.router_span = run_router_on_device(layer, states, route.router_threshold, table);
            // Both plans queued, the device's decision picks (the mode stays FA on the host until the read-back).
            if (route.from_router) backend.gate_attention(table, layer, plan.dense, plan.sparse);
            return attention;
          }
          const RouterDecision d = run_router(layer, states, run.router_ms);
          route.router_score = d.score;
          run.router_logits = d.logits;
          if (!route.from_router) return attention;  // an override: the router's opinion is reported, not followed
          route.mode = decide_layer(d.score, route.router_threshold);
          route.source = DecisionSource::Router;
          attention = plan.attention_of(route.mode);
          return attention;
        },
        prefill_chunk_, record_block_masks_);
    // SA per attention.decode: FluxScope streaming evicts, Reference never. A layer routed on the device is prepared
    // once its decision is back.
    if (!(run.router_span && route.from_router)) kv_.prepare_decode(l, route.mode, attention);
    run.end = backend.mark();
    if (device_routing) {
      runs.push_back(std::move(run));
    } else if (on_layer) {
      report(l, run);
    }
  }
  if (device_routing) {
    const std::vector<Backend::RoutedSlot> slots = backend.read_route_table(table);
    for (int l = 0; l < cfg.n_layers; ++l) {
      LayerRun& run = runs[static_cast<std::size_t>(l)];
      if (run.router_span) {
        const Backend::RoutedSlot& slot = slots[static_cast<std::size_t>(l)];
        require(!slot.out.empty(), "prefill: layer {} was routed on the device but has no decision", l);
        const RouterDecision d = router_->decide_logits(slot.out);
        check_router_score(d.score, l);
        run.route.router_score = d.score;
        run.router_logits = d.logits;
        run.router_ms = backend.elapsed_ms(run.router_span->start, run.router_span->end);
        if (run.route.from_router) {
          // What ran is the device's decision: the same rule on the same outputs (fp64 on both sides).
          const LayerMode mode = slot.sa ? LayerMode::SA : LayerMode::FA;
          if (mode != decide_layer(d.score, run.route.router_threshold))
            spdlog::warn("layer {}: the device routed {} at P = {} (threshold {})", l, layer_mode_name(mode),
                         d.score.prob, run.route.router_threshold);
          run.route.mode = mode;
          run.route.source = DecisionSource::Router;
          run.attention = plan.attention_of(mode);
          run.stats.density = build_block_lists(run.attention, n).density();
          kv_.prepare_decode(l, mode, run.attention);
        }
      }
      if (on_layer) report(l, run);
    }
  }
  position_ = n;
  return x;
}

TimeSpan Session::run_router_on_device(int layer, const Tensor& states, float threshold,
                                       Backend::RouteTable& table) {
  const RouterConfig& config = router_->config();
  require(config.head_dim > 0 && states.cols % config.head_dim == 0, "router: input width {} is not heads of {}",
          states.cols, config.head_dim);
  const int n_heads = static_cast<int>(states.cols / config.head_dim);
  const RouterPooling pooling = router_pooling(config, states.rows, n_heads);
  Tensor rows = states;
  rows.rows = states.rows * pooling.heads_per_row;
  rows.cols = states.cols / pooling.heads_per_row;
  const Backend::RouteRule rule = router_->family() != RouterFamily::Flux ? Backend::RouteRule::ElasticMean
                                  : router_->softmax_head()               ? Backend::RouteRule::FluxSoftmax
                                                                          : Backend::RouteRule::FluxSigmoid;
  return decoder_.backend().route_on_device(rows, pooling.ranges, router_->mlp(layer), rule, config.temperature,
                                            threshold, table, layer);
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
