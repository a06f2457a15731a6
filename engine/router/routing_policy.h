// How a run's RoutingPlan is chosen: a preset ("router", "fa", "sa", "first-k:N", "every-other") combined with
// per-layer user overrides and, for "router", the Layer Router's decisions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/router/layer_router.h"
#include "engine/runtime/routing_plan.h"

namespace flux::engine {

enum class LayerOverride { Auto, ForceFA, ForceSA };

struct RoutingPolicy {
  std::string preset = "router";  // or fa, sa, first-k:N, every-other
  std::vector<LayerOverride> overrides;  // per layer; missing entries are Auto
  float threshold = 0.5f;         // SA iff router prob > threshold
  AttentionPlan sparse;           // what SA means
};

// Per layer: an override wins (source Override); else preset "router" uses the decision (source Router, SA iff
// prob > threshold) — a layer without a decision is left to the router at prefill (from_router = true, FA until
// decided); else the preset's mode (source Default, router_prob reported when known).
RoutingPlan resolve(const RoutingPolicy& policy, int n_layers,
                    const std::vector<std::optional<RouterDecision>>& decisions);

// Parses "0-5=FA,12=SA" into per-layer overrides for n_layers layers.
std::vector<LayerOverride> parse_overrides(const std::string& text, int n_layers);

// A --route JSON file: {"preset": ..., "overrides": "0-5=FA,...", "sa_kind": ..., "threshold": ...}.
RoutingPolicy load_routing_policy(const std::string& path, int n_layers, const AttentionPlan& sparse);

}  // namespace flux::engine
