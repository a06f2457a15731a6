// Which attention each layer runs in a given run, and why: the plain-data plan shared by the CLI, the GUI and the
// report. The router (when a model has one) and user overrides produce it; the Session executes it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/attention/attention_plan.h"

namespace flux::engine {

enum class LayerMode { FA, SA };
enum class DecisionSource { Router, Override, Default };

const char* layer_mode_name(LayerMode mode);          // "FA" / "SA"
const char* decision_source_name(DecisionSource s);   // "router" / "override" / "default"

struct LayerRoute {
  LayerMode mode = LayerMode::FA;
  std::optional<float> router_prob;  // SA probability from the router; empty until a router ran
  DecisionSource source = DecisionSource::Default;
  bool from_router = false;      // the Layer Router decides this layer during prefill (mode is FA until then)
  float router_threshold = 0.5f; // with from_router: SA iff the router's prob > this
};

struct RoutingPlan {
  AttentionPlan sparse;            // what SA means in this run: kind (streaming/triangle/xattn) and its parameters
  std::vector<LayerRoute> layers;  // one per transformer layer

  // The attention plan of layer l: Full for FA layers, `sparse` for SA layers.
  AttentionPlan attention_for(int layer) const;
  double sa_fraction() const;
};

// Presets: "fa" (all full), "sa" (all sparse), "first-k:N" (first N layers FA, rest SA), "every-other" (odd layers SA).
RoutingPlan make_preset_plan(const std::string& preset, int n_layers, const AttentionPlan& sparse);

// Applies overrides such as "0-5=FA,12=SA" (layer ranges inclusive); the touched layers get source Override.
void apply_overrides(RoutingPlan& plan, const std::string& overrides);

}  // namespace flux::engine
