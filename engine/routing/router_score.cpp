#include "engine/routing/router_score.h"

#include <cmath>

namespace flux::engine {

const char* layer_mode_name(LayerMode mode) { return mode == LayerMode::FA ? "FA" : "SA"; }

void check_router_score(const RouterScore& score, int layer) {
  require(std::isfinite(score.prob) && score.prob >= 0.0f && score.prob <= 1.0f,
          "router layer {}: the router produced a non-finite score ({}); its weights or the layer's inputs hold "
          "NaN or inf",
          layer, score.prob);
}

void check_router_threshold(float threshold) {
  require(std::isfinite(threshold) && threshold >= 0.0f && threshold <= 1.0f,
          "router threshold {} must be a probability in [0, 1]", threshold);
}

}  // namespace flux::engine
