// RouteSpec: the text grammar round-trips, resolve() applies presets, overrides and defaults in one place, route
// files map onto the same grammar, and the one decision rule (decide_layer) behaves at its boundary.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/routing/route_spec.h"
#include "tests/engine/routing/router_test_util.h"
#include "tests/engine/support/error_of.h"

namespace flux::engine {
namespace {

TEST(RouteSpec, ParseDescribeRoundTrip) {
  const char* texts[] = {"router", "fa", "sa sa=triangle n_last=64", "first-k:3 override=0-1=SA,5=FA",
                         "router fa=xattn sa=streaming sink=64 window=512 block=64 stride=8 tau=0.85 threshold=0.6 "
                         "decode=reference override=2=FA",
                         "every-other decode=fluxscope"};
  for (const char* t : texts) {
    const RouteSpec s = parse_route_spec(t);
    EXPECT_EQ(parse_route_spec(describe(s)), s) << t;
    EXPECT_EQ(describe(parse_route_spec(describe(s))), describe(s)) << t;
  }
  const RouteSpec s = parse_route_spec("threshold=0.6 sa=xattn full");  // order free, aliases canonical
  EXPECT_EQ(s.preset, "fa");
  EXPECT_EQ(describe(s), "fa sa=xattn threshold=0.6");
}

TEST(RouteSpec, BadItemsAreNamed) {
  EXPECT_ERROR(test::error_of([] { parse_route_spec("router bogus=1"); }), "unknown item 'bogus=1'");
  EXPECT_ERROR(test::error_of([] { parse_route_spec("sideways"); }), "unknown routing preset 'sideways'");
  EXPECT_ERROR(test::error_of([] { parse_route_spec("fa sa"); }), "two presets");
  EXPECT_ERROR(test::error_of([] { parse_route_spec("sa=streaming sa=triangle"); }), "given twice");
  EXPECT_ERROR(test::error_of([] { parse_route_spec("fa=streaming"); }), "full or xattn");
  EXPECT_ERROR(test::error_of([] { parse_route_spec("sa=full"); }), "not sparse");
  EXPECT_ERROR(test::error_of([] { parse_route_spec("threshold=1.5"); }), "[0, 1]");
  EXPECT_ERROR(test::error_of([] { parse_route_spec("threshold=nan"); }), "not a number");
  EXPECT_ERROR(test::error_of([] { parse_route_spec("decode=fast"); }), "reference or fluxscope");
  EXPECT_ERROR(test::error_of([] { parse_route_spec("override=3-1=SA"); }), "ascend");
  EXPECT_ERROR(test::error_of([] { parse_route_spec("window=0"); }), ">= 1");
}

TEST(RouteSpec, ResolvePresetsOverridesAndDefaults) {
  RouteDefaults d;
  d.has_router = true;
  d.sparse.mode = AttentionMode::Triangle;
  d.sparse.n_last = 32;
  d.dense.mode = AttentionMode::XAttention;
  d.threshold = 0.3f;
  d.decode = DecodeMode::Reference;
  const RoutingPlan plan = resolve(parse_route_spec("router override=0=SA,3=FA"), 4, d);
  EXPECT_EQ(plan.sparse.mode, AttentionMode::Triangle);
  EXPECT_EQ(plan.sparse.n_last, 32);
  EXPECT_EQ(plan.dense.mode, AttentionMode::XAttention);
  EXPECT_EQ(plan.decode(), DecodeMode::Reference);
  EXPECT_EQ(plan.layers[0].source, DecisionSource::Override);
  EXPECT_EQ(plan.layers[0].mode, LayerMode::SA);
  EXPECT_FALSE(plan.layers[0].from_router);
  EXPECT_TRUE(plan.layers[1].from_router);
  EXPECT_FLOAT_EQ(plan.layers[1].router_threshold, 0.3f);
  EXPECT_EQ(plan.layers[3].mode, LayerMode::FA);
  EXPECT_EQ(plan.attention_for(0).mode, AttentionMode::Triangle);
  EXPECT_EQ(plan.attention_for(3).mode, AttentionMode::XAttention);
  // The spec wins over the defaults, field by field.
  const RoutingPlan mine = resolve(parse_route_spec("router fa=full sa=streaming window=256 threshold=0.9 "
                                                    "decode=fluxscope"), 4, d);
  EXPECT_EQ(mine.dense.mode, AttentionMode::Full);
  EXPECT_EQ(mine.sparse.mode, AttentionMode::Streaming);
  EXPECT_EQ(mine.sparse.window, 256);
  EXPECT_EQ(mine.sparse.n_last, 32);
  EXPECT_EQ(mine.decode(), DecodeMode::FluxScope);
  EXPECT_FLOAT_EQ(mine.layers[2].router_threshold, 0.9f);
  // No router: "router" is all FA with nothing left to a router.
  const RoutingPlan none = resolve(RouteSpec{}, 3, RouteDefaults{});
  for (const LayerRoute& r : none.layers) {
    EXPECT_FALSE(r.from_router);
    EXPECT_EQ(r.mode, LayerMode::FA);
  }
  EXPECT_DOUBLE_EQ(resolve(parse_route_spec("first-k:1"), 4, d).sa_fraction(), 0.75);
  EXPECT_EQ(resolve(parse_route_spec("every-other"), 4, d).layers[1].mode, LayerMode::SA);
  EXPECT_ERROR(test::error_of([&] { resolve(parse_route_spec("fa override=4=SA"), 4, d); }), "0..3");
}

TEST(RouteSpec, RouteFilesUseTheSameGrammar) {
  const auto path = (test::router_temp_dir() / "route.json").string();
  std::ofstream(path) << R"({"preset": "router", "overrides": "0=SA", "sa_kind": "triangle", "threshold": 0.25,
                            "decode": "reference", "window": 512})";
  const RouteSpec s = load_route_file(path);
  EXPECT_EQ(describe(s), "router sa=triangle window=512 threshold=0.25 decode=reference override=0=SA");
  std::ofstream(path, std::ios::trunc) << R"({"spec": "sa sa=xattn tau=0.8"})";
  EXPECT_EQ(*load_route_file(path).tau, 0.8f);
  std::ofstream(path, std::ios::trunc) << R"({"preset": "sideways"})";
  EXPECT_ERROR(test::error_of([&] { load_route_file(path); }), "sideways");
  std::ofstream(path, std::ios::trunc) << R"({"preset": "fa", "color": "red"})";
  EXPECT_ERROR(test::error_of([&] { load_route_file(path); }), "unknown keys");
  std::ofstream(path, std::ios::trunc) << R"({"preset": ["fa"]})";
  EXPECT_ERROR(test::error_of([&] { load_route_file(path); }), "string or a number");
}

TEST(RouterScore, OneRuleForBothFamilies) {
  const RouterScore fa{LayerMode::FA, 0.75};
  EXPECT_EQ(decide_layer(fa, 0.5f), LayerMode::FA);
  EXPECT_EQ(decide_layer(fa, 0.75f), LayerMode::SA);  // strictly above
  EXPECT_DOUBLE_EQ(fa.fa_prob(), 0.75);
  const RouterScore sa{LayerMode::SA, 0.7};
  EXPECT_EQ(decide_layer(sa, 0.5f), LayerMode::SA);
  EXPECT_NEAR(sa.fa_prob(), 0.3, 1e-12);
  EXPECT_EQ(decide_layer(RouterScore{LayerMode::FA, 0.5}, 0.5f), LayerMode::SA);  // softmax tie → index 0 (SA)
  EXPECT_ERROR(test::error_of([] { check_router_score(RouterScore{LayerMode::FA, std::nan("")}, 4); }), "layer 4");
  EXPECT_ERROR(test::error_of([] { check_router_threshold(-0.1f); }), "[0, 1]");
}

}  // namespace
}  // namespace flux::engine
