// The Layer Router (ALGORITHMS.md §5), both families, CPU fp32, inference only, deterministic (no Gumbel noise):
// - Flux (the authors' released code): pools a layer's pre-RoPE *queries* (after q_norm on Qwen3) over the first and
//   last pool_size prompt tokens (a short prompt's overlap counted twice, as the reference concatenates), averages
//   the query heads, and runs feat = Linear(d→8d) SiLU Linear(8d→2d), head = Linear(2d→4d) SiLU Linear(4d→d) SiLU
//   Linear(d→2 | 1). It scores the FA side: softmax index 1 (or σ(z/τ) for a 1-output head).
// - Elastic (the predecessor): pools pre-RoPE *keys* per KV head, feat = Linear(d→4d) SiLU Linear(4d→d),
//   head = Linear(d→4d) SiLU Linear(4d→d) SiLU Linear(d→1) per head, mean logit, scores the SA side: σ(z/τ).
// The family is read from the tensors' shapes (checkpoints) or the file's "family" key (our format).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/backend/small_mlp.h"
#include "engine/backend/tensor.h"
#include "engine/routing/routing_plan.h"

namespace flux::engine {

enum class RouterFamily { Elastic, Flux };
const char* router_family_name(RouterFamily family);  // "elastic" / "flux"
RouterFamily parse_router_family(const std::string& text);

struct RouterConfig {
  RouterFamily family = RouterFamily::Elastic;  // our files without a "family" key are Elastic
  // Elastic: "boundary" | "all" | "first_token" | "last"; Flux: "ctx_q" (pool_first = pool_last = pool_size).
  std::string pooling = "boundary";
  int pool_first = 100, pool_last = 100;
  float temperature = 1.0f;  // logits are divided by it before the sigmoid (the softmax head ignores it)
  float threshold = 0.5f;    // the scored side (Flux: FA, Elastic: SA) wins iff its probability > threshold
  std::string fa_kind = "full";       // what the FA side runs: full | xattn (Flux retrieval_mode)
  std::string sa_kind = "streaming";  // streaming | triangle | xattn (Flux toggle_type)
  int sink = 128, window = 1024, n_last = 128, block = 128;
  std::string decode = "fluxscope";   // the decode mode runs use by default: fluxscope | reference
  int n_layers = 0, n_kv_heads = 0, head_dim = 0;
  std::string model;  // the model the router was trained for (informational)
};

// One Linear layer: weight [out, in] row-major, bias [out].
struct RouterLinear {
  int in = 0, out = 0;
  std::vector<float> weight, bias;
};

// Per-layer weights: feat.{0,2} and head.{0,2,4} (shapes per family, see above).
struct RouterLayerWeights {
  RouterLinear feat0, feat2;
  RouterLinear head0, head2, head4;
};

struct RouterDecision {
  // The head's output: Flux softmax {logit_SA, logit_FA}, Flux sigmoid {z}, Elastic {mean per-head z}.
  std::vector<float> logits;
  float logit = 0.0f;  // one number for plots: Elastic mean z, Flux softmax l_FA − l_SA, Flux sigmoid z
  RouterScore score;  // the scored side and its probability
  LayerMode mode = LayerMode::FA;
};

// Which rows a backend pools for a layer: row ranges of the router's input viewed as [n_tokens · heads_per_row,
// head_dim] (Flux: every query head of the pooled tokens — their mean is the head mean too; Elastic: token rows of
// [n_tokens, Hkv·d], one MLP row per KV head).
struct RouterPooling {
  std::vector<RowRange> ranges;  // may overlap (Flux, short prompts): overlapping rows count twice
  int64_t heads_per_row = 1;     // Flux: n_heads (rows are single heads); Elastic: 1 (rows are tokens)
};

class LayerRouter {
 public:
  LayerRouter() = default;
  // Validates the family's shapes against config.head_dim and config.n_layers; throws Error naming layer/tensor.
  LayerRouter(RouterConfig config, std::vector<RouterLayerWeights> layers);

  const RouterConfig& config() const { return config_; }
  RouterConfig& config() { return config_; }
  RouterFamily family() const { return config_.family; }
  const std::vector<RouterLayerWeights>& layers() const { return layers_; }
  int n_layers() const { return static_cast<int>(layers_.size()); }
  bool softmax_head() const { return !layers_.empty() && layers_.front().head4.out == 2; }

  // states: the layer's router input [n_tokens, n_heads·head_dim] row-major, pre-RoPE — queries (Flux, all query
  // heads) or keys (Elastic, KV heads).
  RouterDecision decide(int layer, const float* states, int64_t n_tokens, int n_heads, int head_dim) const;
  // The head's outputs for the pooled input of decide_pooled (Flux: one row [head_dim]; Elastic: one row per head).
  RouterDecision decide_logits(const std::vector<float>& mlp_out) const;
  // A layer's feat + head chain as one SmallMlp [head_dim → 1 | 2] (what a backend runs on its device).
  const SmallMlp& mlp(int layer) const;

 private:
  RouterConfig config_;
  std::vector<RouterLayerWeights> layers_;
  std::vector<SmallMlp> mlps_;  // layers_ as chains, built once
};

// The token rows the configured pooling reads, [first, first+count) ranges over the prompt's tokens. Elastic: ascending
// and disjoint (all tokens when the prompt is short). Flux: [0, min(pool, n)) and [max(0, n − pool), n), overlapping
// when n < 2·pool, as the reference's concatenation counts them.
std::vector<RowRange> pooling_rows(const RouterConfig& config, int64_t n_tokens);
// The same as a backend's row view of the router input (see RouterPooling).
RouterPooling router_pooling(const RouterConfig& config, int64_t n_tokens, int n_heads);

// Mean over the pooling rows of states [n_tokens, n_heads·head_dim] → [n_heads·head_dim] (fp64 accumulation).
std::vector<float> pool_states(const RouterConfig& config, const float* states, int64_t n_tokens, int n_heads,
                               int head_dim);

// One line for the report, the CLI summary and the app: family, head, input, pooling, decision rule, and that it is
// deterministic (the reference's sigmoid path adds Gumbel noise even at inference; we do not).
std::string describe_router(const RouterConfig& config, bool softmax_head);

// The attention plans the router's config means by FA and by SA.
AttentionPlan router_sparse_plan(const RouterConfig& config);
AttentionPlan router_dense_plan(const RouterConfig& config);

}  // namespace flux::engine
