// The Layer Router (ALGORITHMS.md §5): pools a layer's pre-RoPE keys per KV head, runs the tiny task MLP and router
// head on each head, and turns the mean per-head logit into that layer's FA/SA decision. CPU fp32, inference only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/backend/small_mlp.h"
#include "engine/backend/tensor.h"
#include "engine/runtime/routing_plan.h"

namespace flux::engine {

struct RouterConfig {
  std::string pooling = "boundary";  // "boundary" | "all" | "first_token"
  int pool_first = 100, pool_last = 100;
  float temperature = 1.0f;  // logits are divided by it before the sigmoid
  float threshold = 0.5f;    // SA iff prob > threshold
  std::string sa_kind = "streaming";  // streaming | triangle | xattn
  int sink = 128, window = 1024, n_last = 128;
  int n_layers = 0, n_kv_heads = 0, head_dim = 0;
  std::string model;  // the model the router was trained for (informational)
};

// One Linear layer: weight [out, in] row-major, bias [out].
struct RouterLinear {
  int in = 0, out = 0;
  std::vector<float> weight, bias;
};

// Per-layer weights: feat = Linear(d→4d) SiLU Linear(4d→d);
// head = Linear(d→4d) SiLU Linear(4d→d) SiLU Linear(d→1).
struct RouterLayerWeights {
  RouterLinear feat0, feat2;
  RouterLinear head0, head2, head4;
};

struct RouterDecision {
  float logit = 0.0f;  // mean over KV heads of the per-head logits
  float prob = 0.5f;   // sigmoid(logit / temperature)
  LayerMode mode = LayerMode::FA;
};

class LayerRouter {
 public:
  LayerRouter() = default;
  // Validates shapes against config.head_dim and config.n_layers; throws Error naming the layer/tensor.
  LayerRouter(RouterConfig config, std::vector<RouterLayerWeights> layers);

  const RouterConfig& config() const { return config_; }
  RouterConfig& config() { return config_; }
  const std::vector<RouterLayerWeights>& layers() const { return layers_; }
  int n_layers() const { return static_cast<int>(layers_.size()); }

  // keys: [n_tokens, n_kv_heads·head_dim] row-major, pre-RoPE.
  RouterDecision decide(int layer, const float* keys, int64_t n_tokens, int n_kv_heads, int head_dim) const;
  // Same from already pooled keys [n_kv_heads·head_dim].
  RouterDecision decide_pooled(int layer, const std::vector<float>& pooled, int n_kv_heads) const;
  // The per-head logit of one pooled head vector p[head_dim].
  float head_logit(int layer, const float* pooled) const;
  // The logits of n_heads pooled head vectors [n_heads, head_dim] at once.
  std::vector<float> head_logits(int layer, const float* pooled, int n_heads) const;
  // The decision from the per-head logits: their mean, the temperature and the threshold.
  RouterDecision decide_logits(const std::vector<float>& head_logits) const;
  // A layer's feat + head chain as one SmallMlp [head_dim → 1] (what a backend runs on its device).
  const SmallMlp& mlp(int layer) const;

 private:
  RouterConfig config_;
  std::vector<RouterLayerWeights> layers_;
  std::vector<SmallMlp> mlps_;  // layers_ as chains, built once
};

// The token rows the configured pooling reads: [first, first+count) ranges, ascending and disjoint.
std::vector<RowRange> pooling_rows(const RouterConfig& config, int64_t n_tokens);

// Mean over the pooling rows of keys [n_tokens, n_kv_heads·head_dim] → pooled [n_kv_heads·head_dim].
std::vector<float> pool_keys(const RouterConfig& config, const float* keys, int64_t n_tokens, int n_kv_heads,
                             int head_dim);

// The attention plan the router's config means by SA.
AttentionPlan router_sparse_plan(const RouterConfig& config);

}  // namespace flux::engine
