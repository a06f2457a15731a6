// RoutingPolicy resolution: overrides beat the router, the threshold shifts decisions, presets, route files.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/router/routing_policy.h"
#include "tests/engine/router/router_test_util.h"
#include "tests/engine/support/error_of.h"

namespace flux::engine {
namespace {

std::optional<RouterDecision> decision(float prob) {
  RouterDecision d;
  d.prob = prob;
  d.mode = prob > 0.5f ? LayerMode::SA : LayerMode::FA;
  return d;
}

TEST(RoutingPolicy, RouterDecisionsAndOverrides) {
  RoutingPolicy p;
  p.overrides = {LayerOverride::Auto, LayerOverride::ForceFA, LayerOverride::Auto, LayerOverride::ForceSA};
  const RoutingPlan plan = resolve(p, 4, {decision(0.9f), decision(0.9f), decision(0.2f), decision(0.2f)});
  EXPECT_EQ(plan.layers[0].mode, LayerMode::SA);
  EXPECT_EQ(plan.layers[0].source, DecisionSource::Router);
  EXPECT_FLOAT_EQ(*plan.layers[0].router_prob, 0.9f);
  EXPECT_EQ(plan.layers[1].mode, LayerMode::FA);
  EXPECT_EQ(plan.layers[1].source, DecisionSource::Override);
  EXPECT_FLOAT_EQ(*plan.layers[1].router_prob, 0.9f);
  EXPECT_EQ(plan.layers[2].mode, LayerMode::FA);
  EXPECT_EQ(plan.layers[2].source, DecisionSource::Router);
  EXPECT_EQ(plan.layers[3].mode, LayerMode::SA);
  EXPECT_EQ(plan.layers[3].source, DecisionSource::Override);
  for (const auto& l : plan.layers) EXPECT_FALSE(l.from_router);
}

TEST(RoutingPolicy, ThresholdShiftsDecisions) {
  RoutingPolicy p;
  const std::vector<std::optional<RouterDecision>> d = {decision(0.3f), decision(0.6f), decision(0.8f)};
  p.threshold = 0.2f;
  EXPECT_DOUBLE_EQ(resolve(p, 3, d).sa_fraction(), 1.0);
  p.threshold = 0.7f;
  const RoutingPlan plan = resolve(p, 3, d);
  EXPECT_EQ(plan.layers[1].mode, LayerMode::FA);
  EXPECT_EQ(plan.layers[2].mode, LayerMode::SA);
  p.threshold = 0.9f;
  EXPECT_DOUBLE_EQ(resolve(p, 3, d).sa_fraction(), 0.0);
}

TEST(RoutingPolicy, UndecidedLayersAreLeftToTheRouter) {
  RoutingPolicy p;
  p.threshold = 0.7f;
  p.overrides = {LayerOverride::ForceSA};
  const RoutingPlan plan = resolve(p, 2, {});
  EXPECT_FALSE(plan.layers[0].from_router);
  EXPECT_TRUE(plan.layers[1].from_router);
  EXPECT_FLOAT_EQ(plan.layers[1].router_threshold, 0.7f);
  EXPECT_EQ(plan.layers[1].mode, LayerMode::FA);
  RoutingPlan overridden = plan;
  apply_overrides(overridden, "1=SA");
  EXPECT_FALSE(overridden.layers[1].from_router);
  EXPECT_EQ(overridden.layers[1].mode, LayerMode::SA);
}

TEST(RoutingPolicy, PresetsKeepTheirModesAndReportProbabilities) {
  RoutingPolicy p;
  p.preset = "first-k:2";
  const RoutingPlan plan = resolve(p, 4, {decision(0.9f), std::nullopt, decision(0.1f), std::nullopt});
  const LayerMode expected[] = {LayerMode::FA, LayerMode::FA, LayerMode::SA, LayerMode::SA};
  for (int l = 0; l < 4; ++l) {
    EXPECT_EQ(plan.layers[static_cast<std::size_t>(l)].mode, expected[l]);
    EXPECT_EQ(plan.layers[static_cast<std::size_t>(l)].source, DecisionSource::Default);
  }
  EXPECT_FLOAT_EQ(*plan.layers[0].router_prob, 0.9f);
  EXPECT_FALSE(plan.layers[1].router_prob.has_value());
  p.preset = "every-other";
  EXPECT_EQ(resolve(p, 4, {}).layers[1].mode, LayerMode::SA);
  p.preset = "sa";
  EXPECT_DOUBLE_EQ(resolve(p, 4, {}).sa_fraction(), 1.0);
  p.preset = "bogus";
  EXPECT_ERROR(test::error_of([&] { resolve(p, 4, {}); }), "unknown routing preset 'bogus'");
}

TEST(RoutingPolicy, OverridesAndRouteFiles) {
  const auto o = parse_overrides("0-1=FA,3=sa", 4);
  EXPECT_EQ(o, (std::vector<LayerOverride>{LayerOverride::ForceFA, LayerOverride::ForceFA, LayerOverride::Auto,
                                           LayerOverride::ForceSA}));
  EXPECT_ERROR(test::error_of([] { parse_overrides("7=FA", 4); }), "0..3");
  const auto path = (test::router_temp_dir() / "route.json").string();
  std::ofstream(path) << R"({"preset": "router", "overrides": "0=SA", "sa_kind": "triangle", "threshold": 0.25})";
  const RoutingPolicy p = load_routing_policy(path, 3, AttentionPlan{});
  EXPECT_EQ(p.preset, "router");
  EXPECT_FLOAT_EQ(p.threshold, 0.25f);
  EXPECT_EQ(p.sparse.mode, AttentionMode::Triangle);
  EXPECT_EQ(p.overrides[0], LayerOverride::ForceSA);
  std::ofstream(path) << R"({"preset": 3})";
  EXPECT_ERROR(test::error_of([&] { load_routing_policy(path, 3, AttentionPlan{}); }), "wrong type");
  std::ofstream(path) << R"({"preset": "sideways"})";
  EXPECT_ERROR(test::error_of([&] { load_routing_policy(path, 3, AttentionPlan{}); }), "sideways");
}

}  // namespace
}  // namespace flux::engine
