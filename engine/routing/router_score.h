// The one rule that turns a Layer Router's output into a layer's FA/SA decision. A router scores one side with a
// probability — Flux: the FA probability (softmax index 1, or σ(z/τ) for the sigmoid head); Elastic: the SA
// probability σ(z/τ) — and the layer takes that side iff the probability is above the threshold (default 0.5, where
// Flux's rule is exactly "FA iff argmax = 1" and Elastic's "SA iff p > 0.5").
#pragma once

#include "engine/core/error.h"

namespace flux::engine {

enum class LayerMode { FA, SA };
const char* layer_mode_name(LayerMode mode);  // "FA" / "SA"

struct RouterScore {
  LayerMode side = LayerMode::FA;  // the side `prob` speaks for
  double prob = 0.5;               // P(side), in [0, 1]; fp64 so a softmax's "> 0.5" keeps its argmax meaning

  double fa_prob() const { return side == LayerMode::FA ? prob : 1.0 - prob; }
};

inline LayerMode other_side(LayerMode m) { return m == LayerMode::FA ? LayerMode::SA : LayerMode::FA; }

// NaN never passes the comparison, so a router that outputs NaN cannot route; callers reject it first (see
// check_router_score).
inline LayerMode decide_layer(const RouterScore& score, float threshold) {
  return score.prob > static_cast<double>(threshold) ? score.side : other_side(score.side);
}

// Throws Error when the router produced a non-finite probability (a broken router must not silently route).
void check_router_score(const RouterScore& score, int layer);

// Thresholds are probabilities: [0, 1], finite.
void check_router_threshold(float threshold);

}  // namespace flux::engine
