#include "engine/routing/layer_router.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

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

double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

}  // namespace

const char* router_family_name(RouterFamily family) { return family == RouterFamily::Flux ? "flux" : "elastic"; }

RouterFamily parse_router_family(const std::string& text) {
  if (text == "flux") return RouterFamily::Flux;
  if (text == "elastic") return RouterFamily::Elastic;
  fail("router family '{}': expected flux or elastic", text);
}

LayerRouter::LayerRouter(RouterConfig config, std::vector<RouterLayerWeights> layers)
    : config_(std::move(config)), layers_(std::move(layers)) {
  const int d = config_.head_dim;
  const bool flux = config_.family == RouterFamily::Flux;
  require(d > 0, "router: head_dim must be positive (got {})", d);
  require(config_.n_layers == static_cast<int>(layers_.size()), "router: config says {} layers, {} given",
          config_.n_layers, layers_.size());
  if (flux) {
    require(config_.pooling == "ctx_q", "router: pooling '{}' is not a Flux pooling (the reference accepts only ctx_q)",
            config_.pooling);
    require(config_.pool_first == config_.pool_last && config_.pool_first > 0,
            "router: Flux pools pool_size first and last tokens (got {} and {})", config_.pool_first,
            config_.pool_last);
  } else {
    require(config_.pooling == "boundary" || config_.pooling == "all" || config_.pooling == "first_token" ||
                config_.pooling == "last",
            "router: unknown pooling '{}' (use boundary, all, first_token or last)", config_.pooling);
    require(config_.pool_first >= 0 && config_.pool_last >= 0, "router: pool_first/pool_last must be >= 0");
  }
  require(std::isfinite(config_.temperature) && config_.temperature > 0.0f,
          "router: temperature must be positive (got {})", config_.temperature);
  check_router_threshold(config_.threshold);
  for (int l = 0; l < n_layers(); ++l) {
    const RouterLayerWeights& w = layers_[static_cast<std::size_t>(l)];
    const int h = w.feat0.out;  // feature width: 8d (Flux) or 4d (Elastic) in the reference; read, not assumed
    const int f = flux ? w.feat2.out : d;  // Flux: 2d features; Elastic: d
    require(h > 0 && f > 0, "router layer {} feat: empty", l);
    check_linear(w.feat0, d, h, l, "feat.0");
    check_linear(w.feat2, h, f, l, "feat.2");
    check_linear(w.head0, f, w.head0.out, l, "head.0");
    check_linear(w.head2, w.head0.out, w.head2.out, l, "head.2");
    const int outs = flux ? w.head4.out : 1;
    require(outs == 1 || outs == 2, "router layer {} head.4: {} outputs (a Flux head has 2 (softmax) or 1 (sigmoid))",
            l, outs);
    require(flux || w.head4.out == 1, "router layer {} head.4: an Elastic router has a 1-output head, got {}", l,
            w.head4.out);
    check_linear(w.head4, w.head2.out, outs, l, "head.4");
    require(l == 0 || outs == layers_.front().head4.out, "router layer {} head.4: {} outputs, layer 0 has {}", l, outs,
            layers_.front().head4.out);
    // The task features feed the router head directly (AttentionRouter.forward: no residual).
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
  if (config.family == RouterFamily::Flux) {
    const int64_t pool = config.pool_first;
    return {{0, std::min(pool, n_tokens)}, {std::max<int64_t>(0, n_tokens - pool), n_tokens}};
  }
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

RouterPooling router_pooling(const RouterConfig& config, int64_t n_tokens, int n_heads) {
  RouterPooling p;
  p.ranges = pooling_rows(config, n_tokens);
  if (config.family != RouterFamily::Flux) return p;
  p.heads_per_row = n_heads;
  for (RowRange& r : p.ranges) {
    r.begin *= n_heads;
    r.end *= n_heads;
  }
  return p;
}

std::vector<float> pool_states(const RouterConfig& config, const float* states, int64_t n_tokens, int n_heads,
                               int head_dim) {
  const std::size_t width = static_cast<std::size_t>(n_heads) * static_cast<std::size_t>(head_dim);
  std::vector<double> acc(width, 0.0);
  int64_t count = 0;
  for (const RowRange& r : pooling_rows(config, n_tokens)) {
    for (int64_t t = r.begin; t < r.end; ++t) {
      const float* row = states + static_cast<std::size_t>(t) * width;
      for (std::size_t i = 0; i < width; ++i) acc[i] += row[i];
      ++count;
    }
  }
  std::vector<float> out(width, 0.0f);
  for (std::size_t i = 0; i < width && count > 0; ++i) out[i] = static_cast<float>(acc[i] / static_cast<double>(count));
  return out;
}

RouterDecision LayerRouter::decide(int layer, const float* states, int64_t n_tokens, int n_heads,
                                   int head_dim) const {
  require(head_dim == config_.head_dim, "router: states have head_dim {}, the router expects {}", head_dim,
          config_.head_dim);
  require(n_heads > 0 && n_tokens > 0, "router: nothing to pool");
  const std::vector<float> pooled = pool_states(config_, states, n_tokens, n_heads, head_dim);
  if (config_.family != RouterFamily::Flux) return decide_logits(mlp(layer).forward(pooled.data(), n_heads));
  // Flux: mean over the query heads, one MLP row.
  std::vector<float> mean(static_cast<std::size_t>(head_dim), 0.0f);
  for (int i = 0; i < head_dim; ++i) {
    double s = 0.0;
    for (int h = 0; h < n_heads; ++h) s += pooled[static_cast<std::size_t>(h) * head_dim + i];
    mean[static_cast<std::size_t>(i)] = static_cast<float>(s / n_heads);
  }
  return decide_logits(mlp(layer).forward(mean.data(), 1));
}

RouterDecision LayerRouter::decide_logits(const std::vector<float>& mlp_out) const {
  require(!mlp_out.empty(), "router: no head logits");
  RouterDecision d;
  if (config_.family == RouterFamily::Flux) {
    const std::size_t outs = softmax_head() ? 2 : 1;
    require(mlp_out.size() == outs, "router: the Flux head gave {} outputs, expected {}", mlp_out.size(), outs);
    d.logits = mlp_out;
    d.logit = outs == 2 ? mlp_out[1] - mlp_out[0] : mlp_out[0];
    d.score.side = LayerMode::FA;
    // softmax index 1 = 1 / (1 + e^(l0 − l1)), kept in fp64 so "> 0.5" is "l1 > l0" (the reference's argmax, ties
    // to index 0 = SA) whenever the logits differ by more than ~1e-16.
    d.score.prob = outs == 2 ? sigmoid(static_cast<double>(mlp_out[1]) - mlp_out[0])
                             : sigmoid(static_cast<double>(mlp_out[0]) / config_.temperature);
  } else {
    double sum = 0.0;
    for (const float logit : mlp_out) sum += logit;
    const double mean = sum / static_cast<double>(mlp_out.size());
    d.logits = {static_cast<float>(mean)};
    d.logit = d.logits[0];
    d.score.side = LayerMode::SA;
    d.score.prob = sigmoid(mean / config_.temperature);
  }
  d.mode = decide_layer(d.score, config_.threshold);
  return d;
}

std::string describe_router(const RouterConfig& c, bool softmax_head) {
  const std::string pooling =
      c.family == RouterFamily::Flux
          ? fmt::format("pre-RoPE queries, mean of the first and last {} prompt tokens and of all query heads",
                        c.pool_first)
          : fmt::format("pre-RoPE keys per KV head, {} pooling ({} + {})", c.pooling, c.pool_first, c.pool_last);
  const std::string head = softmax_head ? "softmax head" : fmt::format("sigmoid head, temperature {}", c.temperature);
  const std::string rule = c.family == RouterFamily::Flux ? fmt::format("FA iff P(FA) > {}", c.threshold)
                                                          : fmt::format("SA iff P(SA) > {}", c.threshold);
  return fmt::format("{} router ({}): {}; {}; FA = {}, SA = {}; deterministic (no Gumbel noise)",
                     router_family_name(c.family), head, pooling, rule, c.fa_kind, c.sa_kind);
}

AttentionPlan router_sparse_plan(const RouterConfig& config) {
  AttentionPlan plan;
  plan.mode = parse_attention_mode(config.sa_kind);
  plan.block = config.block;
  plan.sink = config.sink;
  plan.window = config.window;
  plan.n_last = config.n_last;
  return plan;
}

AttentionPlan router_dense_plan(const RouterConfig& config) {
  AttentionPlan plan = router_sparse_plan(config);
  plan.mode = parse_attention_mode(config.fa_kind);
  return plan;
}

}  // namespace flux::engine
