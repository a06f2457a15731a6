#include "engine/routing/routing_plan.h"

namespace flux::engine {

const char* decision_source_name(DecisionSource s) {
  switch (s) {
    case DecisionSource::Router: return "router";
    case DecisionSource::Override: return "override";
    case DecisionSource::Default: return "default";
  }
  return "default";
}

AttentionPlan RoutingPlan::attention_for(int layer) const {
  return attention_of(layers.at(static_cast<std::size_t>(layer)).mode);
}

double RoutingPlan::sa_fraction() const {
  if (layers.empty()) return 0.0;
  int sa = 0;
  for (const auto& l : layers) sa += l.mode == LayerMode::SA;
  return static_cast<double>(sa) / static_cast<double>(layers.size());
}

}  // namespace flux::engine
