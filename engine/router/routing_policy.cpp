#include "engine/router/routing_policy.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/format/json_input.h"

namespace flux::engine {

RoutingPlan resolve(const RoutingPolicy& policy, int n_layers,
                    const std::vector<std::optional<RouterDecision>>& decisions) {
  const bool use_router = policy.preset == "router";
  RoutingPlan plan = make_preset_plan(use_router ? "fa" : policy.preset, n_layers, policy.sparse);
  for (int l = 0; l < n_layers; ++l) {
    const auto i = static_cast<std::size_t>(l);
    LayerRoute& route = plan.layers[i];
    const std::optional<RouterDecision> decision = i < decisions.size() ? decisions[i] : std::nullopt;
    if (decision) route.router_prob = decision->prob;
    const LayerOverride o = i < policy.overrides.size() ? policy.overrides[i] : LayerOverride::Auto;
    if (o != LayerOverride::Auto) {
      route.mode = o == LayerOverride::ForceSA ? LayerMode::SA : LayerMode::FA;
      route.source = DecisionSource::Override;
    } else if (use_router) {
      route.source = DecisionSource::Router;
      if (decision) {
        route.mode = decision->prob > policy.threshold ? LayerMode::SA : LayerMode::FA;
      } else {
        route.from_router = true;
        route.router_threshold = policy.threshold;
      }
    }
  }
  return plan;
}

std::vector<LayerOverride> parse_overrides(const std::string& text, int n_layers) {
  RoutingPlan probe = make_preset_plan("fa", n_layers, AttentionPlan{});
  apply_overrides(probe, text);
  std::vector<LayerOverride> out(static_cast<std::size_t>(n_layers), LayerOverride::Auto);
  for (std::size_t l = 0; l < out.size(); ++l) {
    if (probe.layers[l].source != DecisionSource::Override) continue;
    out[l] = probe.layers[l].mode == LayerMode::SA ? LayerOverride::ForceSA : LayerOverride::ForceFA;
  }
  return out;
}

RoutingPolicy load_routing_policy(const std::string& path, int n_layers, const AttentionPlan& sparse) {
  const std::optional<std::string> text = read_text_file(path);
  require(text.has_value(), "{}: cannot open the routing file", path);
  const std::optional<nlohmann::json> parsed = parse_json_limited(*text, path);
  require(parsed.has_value(), "{}: not valid JSON", path);
  const nlohmann::json& j = *parsed;
  require(j.is_object(), "{}: the routing file must hold a JSON object", path);
  RoutingPolicy policy;
  policy.sparse = sparse;
  try {
    if (j.contains("preset")) policy.preset = j["preset"].get<std::string>();
    if (j.contains("threshold")) policy.threshold = j["threshold"].get<float>();
    if (j.contains("sa_kind")) policy.sparse.mode = parse_attention_mode(j["sa_kind"].get<std::string>());
    if (j.contains("overrides")) policy.overrides = parse_overrides(j["overrides"].get<std::string>(), n_layers);
  } catch (const nlohmann::json::exception&) {
    fail("{}: a routing key has the wrong type (preset, overrides, sa_kind: strings; threshold: number)", path);
  }
  if (policy.preset != "router") make_preset_plan(policy.preset, n_layers, policy.sparse);  // validates the name
  return policy;
}

}  // namespace flux::engine
