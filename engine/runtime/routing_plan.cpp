#include "engine/runtime/routing_plan.h"

#include <charconv>

#include "engine/core/error.h"

namespace flux::engine {

const char* layer_mode_name(LayerMode mode) { return mode == LayerMode::FA ? "FA" : "SA"; }

const char* decision_source_name(DecisionSource s) {
  switch (s) {
    case DecisionSource::Router: return "router";
    case DecisionSource::Override: return "override";
    case DecisionSource::Default: return "default";
  }
  return "default";
}

AttentionPlan RoutingPlan::attention_for(int layer) const {
  if (layers.at(static_cast<std::size_t>(layer)).mode == LayerMode::SA) return sparse;
  AttentionPlan full = sparse;
  full.mode = AttentionMode::Full;
  return full;
}

double RoutingPlan::sa_fraction() const {
  if (layers.empty()) return 0.0;
  int sa = 0;
  for (const auto& l : layers) sa += l.mode == LayerMode::SA;
  return static_cast<double>(sa) / static_cast<double>(layers.size());
}

namespace {

int parse_int(std::string_view s, std::string_view context) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  require(ec == std::errc() && end == s.data() + s.size() && v >= 0, "{}: '{}' is not a layer number", context, s);
  return v;
}

LayerMode parse_mode(std::string_view s, std::string_view context) {
  if (s == "FA" || s == "fa") return LayerMode::FA;
  if (s == "SA" || s == "sa") return LayerMode::SA;
  fail("{}: mode '{}' must be FA or SA", context, s);
}

}  // namespace

RoutingPlan make_preset_plan(const std::string& preset, int n_layers, const AttentionPlan& sparse) {
  RoutingPlan plan;
  plan.sparse = sparse;
  plan.layers.resize(static_cast<std::size_t>(n_layers));
  auto set_all = [&](auto mode_of) {
    for (int l = 0; l < n_layers; ++l) plan.layers[static_cast<std::size_t>(l)].mode = mode_of(l);
  };
  if (preset == "fa" || preset == "full") {
    set_all([](int) { return LayerMode::FA; });
  } else if (preset == "sa" || preset == "sparse") {
    set_all([](int) { return LayerMode::SA; });
  } else if (preset == "every-other") {
    set_all([](int l) { return l % 2 == 1 ? LayerMode::SA : LayerMode::FA; });
  } else if (preset.rfind("first-k:", 0) == 0) {
    const int k = parse_int(std::string_view(preset).substr(8), "routing preset");
    set_all([k](int l) { return l < k ? LayerMode::FA : LayerMode::SA; });
  } else {
    fail("unknown routing preset '{}' (use router, fa, sa, first-k:N or every-other)", preset);
  }
  return plan;
}

void apply_overrides(RoutingPlan& plan, const std::string& overrides) {
  std::string_view rest = overrides;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    require(eq != std::string_view::npos, "override '{}': expected LAYER=MODE or FIRST-LAST=MODE", item);
    const std::string_view range = item.substr(0, eq);
    const LayerMode mode = parse_mode(item.substr(eq + 1), "override");
    const auto dash = range.find('-');
    const int first = parse_int(range.substr(0, dash), "override");
    const int last = dash == std::string_view::npos ? first : parse_int(range.substr(dash + 1), "override");
    const int n = static_cast<int>(plan.layers.size());
    require(first <= last && last < n, "override '{}': layers must lie in 0..{}", item, n - 1);
    for (int l = first; l <= last; ++l) {
      plan.layers[static_cast<std::size_t>(l)].mode = mode;
      plan.layers[static_cast<std::size_t>(l)].source = DecisionSource::Override;
      plan.layers[static_cast<std::size_t>(l)].from_router = false;
    }
  }
}

}  // namespace flux::engine
