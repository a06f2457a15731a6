// Which attention each layer runs in a given run, and why: the plain-data plan shared by the CLI, the GUI and the
// report. resolve() (route_spec.h) makes it from a RouteSpec; the Session executes it and fills in the router's
// decisions during prefill.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "engine/attention/attention_plan.h"
#include "engine/routing/router_score.h"

namespace flux::engine {

enum class DecisionSource { Router, Override, Default };
const char* decision_source_name(DecisionSource s);   // "router" / "override" / "default"

struct LayerRoute {
  LayerMode mode = LayerMode::FA;
  std::optional<RouterScore> router_score;  // empty until a router ran on this layer
  DecisionSource source = DecisionSource::Default;
  bool from_router = false;       // the Layer Router decides this layer during prefill (mode is FA until then)
  bool router_opinion = false;    // an override of a router-decided layer: the router still scores it, for display
                                  // (the report's router_score), and the override decides
  float router_threshold = 0.5f;  // the threshold decide_layer uses for this layer
};

struct RoutingPlan {
  AttentionPlan dense;             // what FA means in this run: full, or XAttention (Flux retrieval_mode xattn)
  AttentionPlan sparse;            // what SA means: kind, parameters and the decode mode (sparse.decode)
  std::vector<LayerRoute> layers;  // one per transformer layer
  std::string spec;                // describe() of the RouteSpec it came from (empty for hand-made plans)

  // The attention plan of layer l: `dense` for FA layers, `sparse` for SA layers.
  AttentionPlan attention_for(int layer) const;
  // The plan of a layer in the given mode (the Session's use once the router has decided).
  AttentionPlan attention_of(LayerMode mode) const { return mode == LayerMode::SA ? sparse : dense; }
  double sa_fraction() const;
  DecodeMode decode() const { return sparse.decode; }
};

}  // namespace flux::engine
