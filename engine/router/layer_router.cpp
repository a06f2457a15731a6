#include "engine/router/layer_router.h"

#include <algorithm>
#include <cmath>

#include "engine/core/error.h"

namespace flux::engine {

namespace {

MlpLinear chain_link(const RouterLinear& l, bool silu) {
  return MlpLinear{l.in, l.out, l.weight, l.bias, silu};
}

void check_linear(const RouterLinear& l, int in, int out, int layer, const char* name) {
  require(l.in == in && l.out == out, "router layer {} {}: shape [{}, {}], expected [{}, {}]", layer, name, l.out,
          l.in, out, in);
  require(l.weight.size() == static_cast<std::size_t>(in) * static_cast<std::size_t>(out),
          "router layer {} {}.weight: {} values, expected {}", layer, name, l.weight.size(), in * out);
  require(l.bias.size() == static_cast<std::size_t>(out), "router layer {} {}.bias: {} values, expected {}", layer,
          name, l.bias.size(), out);
}

}  // namespace

LayerRouter::LayerRouter(RouterConfig config, std::vector<RouterLayerWeights> layers)
    : config_(std::move(config)), layers_(std::move(layers)) {
  const int d = config_.head_dim;
  require(d > 0, "router: head_dim must be positive (got {})", d);
  require(config_.n_layers == static_cast<int>(layers_.size()), "router: config says {} layers, {} given",
          config_.n_layers, layers_.size());
  require(config_.pooling == "boundary" || config_.pooling == "all" || config_.pooling == "first_token" ||
              config_.pooling == "last",
          "router: unknown pooling '{}' (use boundary, all, first_token or last)", config_.pooling);
  require(config_.temperature > 0.0f, "router: temperature must be positive (got {})", config_.temperature);
  require(config_.pool_first >= 0 && config_.pool_last >= 0, "router: pool_first/pool_last must be >= 0");
  for (int l = 0; l < n_layers(); ++l) {
    const RouterLayerWeights& w = layers_[static_cast<std::size_t>(l)];
    const int h = w.feat0.out;  // hidden width (4d in the reference)
    require(h > 0, "router layer {} feat.0: empty", l);
    check_linear(w.feat0, d, h, l, "feat.0");
    check_linear(w.feat2, h, d, l, "feat.2");
    check_linear(w.head0, d, w.head0.out, l, "head.0");
    check_linear(w.head2, w.head0.out, d, l, "head.2");
    check_linear(w.head4, d, 1, l, "head.4");
    // The task features feed the router head directly (Elastic AttentionRouter.forward: no residual).
    SmallMlp chain;
    chain.layers = {chain_link(w.feat0, true), chain_link(w.feat2, false), chain_link(w.head0, true),
                    chain_link(w.head2, true), chain_link(w.head4, false)};
    mlps_.push_back(std::move(chain));
  }
}

const SmallMlp& LayerRouter::mlp(int layer) const {
  require(layer >= 0 && layer < n_layers(), "router: layer {} out of range 0..{}", layer, n_layers() - 1);
  return mlps_[static_cast<std::size_t>(layer)];
}

std::vector<RowRange> pooling_rows(const RouterConfig& config, int64_t n_tokens) {
  if (n_tokens <= 0) return {};
  if (config.pooling == "first_token") return {{0, 1}};
  if (config.pooling == "last") return {{std::max<int64_t>(0, n_tokens - std::max(config.pool_last, 1)), n_tokens}};
  if (config.pooling == "boundary" && n_tokens >= static_cast<int64_t>(config.pool_first) + config.pool_last) {
    std::vector<RowRange> r;
    if (config.pool_first > 0) r.push_back({0, config.pool_first});
    if (config.pool_last > 0) r.push_back({n_tokens - config.pool_last, n_tokens});
    if (!r.empty()) return r;
  }
  return {{0, n_tokens}};
}

std::vector<float> pool_keys(const RouterConfig& config, const float* keys, int64_t n_tokens, int n_kv_heads,
                             int head_dim) {
  const std::size_t width = static_cast<std::size_t>(n_kv_heads) * static_cast<std::size_t>(head_dim);
  std::vector<double> acc(width, 0.0);
  int64_t count = 0;
  for (const RowRange& r : pooling_rows(config, n_tokens)) {
    for (int64_t t = r.begin; t < r.end; ++t) {
      const float* row = keys + static_cast<std::size_t>(t) * width;
      for (std::size_t i = 0; i < width; ++i) acc[i] += row[i];
      ++count;
    }
  }
  std::vector<float> out(width, 0.0f);
  for (std::size_t i = 0; i < width && count > 0; ++i) out[i] = static_cast<float>(acc[i] / static_cast<double>(count));
  return out;
}

std::vector<float> LayerRouter::head_logits(int layer, const float* pooled, int n_heads) const {
  return mlp(layer).forward(pooled, n_heads);
}

float LayerRouter::head_logit(int layer, const float* pooled) const {
  return head_logits(layer, pooled, 1)[0];
}

RouterDecision LayerRouter::decide(int layer, const float* keys, int64_t n_tokens, int n_kv_heads,
                                   int head_dim) const {
  require(head_dim == config_.head_dim, "router: keys have head_dim {}, the router expects {}", head_dim,
          config_.head_dim);
  require(n_kv_heads > 0 && n_tokens > 0, "router: no keys to pool");
  return decide_pooled(layer, pool_keys(config_, keys, n_tokens, n_kv_heads, head_dim), n_kv_heads);
}

RouterDecision LayerRouter::decide_pooled(int layer, const std::vector<float>& pooled, int n_kv_heads) const {
  const int head_dim = config_.head_dim;
  require(n_kv_heads > 0 && pooled.size() == static_cast<std::size_t>(n_kv_heads) * static_cast<std::size_t>(head_dim),
          "router: pooled keys hold {} values, expected {} heads x {}", pooled.size(), n_kv_heads, head_dim);
  return decide_logits(head_logits(layer, pooled.data(), n_kv_heads));
}

RouterDecision LayerRouter::decide_logits(const std::vector<float>& head_logits) const {
  require(!head_logits.empty(), "router: no head logits");
  double sum = 0.0;
  for (const float logit : head_logits) sum += logit;
  RouterDecision d;
  d.logit = static_cast<float>(sum / static_cast<double>(head_logits.size()));
  d.prob = 1.0f / (1.0f + std::exp(-d.logit / config_.temperature));
  d.mode = d.prob > config_.threshold ? LayerMode::SA : LayerMode::FA;
  return d;
}

AttentionPlan router_sparse_plan(const RouterConfig& config) {
  AttentionPlan plan;
  plan.mode = parse_attention_mode(config.sa_kind);
  plan.sink = config.sink;
  plan.window = config.window;
  plan.n_last = config.n_last;
  return plan;
}

}  // namespace flux::engine
