// End to end: a Session prefill on tiny_llama consults a router whose biases force known decisions, and the layer
// reports carry the router's mode, source and probability; overrides and a missing router behave as documented.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/routing/route_spec.h"
#include "engine/runtime/session.h"
#include "tests/engine/routing/router_test_util.h"

namespace flux::engine {
namespace {

struct Tiny {
  std::unique_ptr<Backend> backend = make_cpu_backend(2);
  std::unique_ptr<Decoder> decoder;
  Tiny() {
    const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/tiny_llama");
    decoder = std::make_unique<Decoder>(files.config(), load_decoder_weights(files, *backend), *backend);
  }
};

std::vector<LayerReport> prefill(Tiny& t, const LayerRouter* router, const RoutingPlan& plan, int n_tokens) {
  Session session(*t.decoder, 512);
  session.set_router(router);
  std::vector<int32_t> tokens;
  for (int i = 0; i < n_tokens; ++i) tokens.push_back((i * 7 + 3) % 256);
  std::vector<LayerReport> reports;
  session.prefill(tokens, plan, [&](const LayerReport& r) { reports.push_back(r); });
  return reports;
}

TEST(RouterSession, ForcedDecisionsReachTheReport) {
  Tiny t;
  const LayerRouter router = test::make_router(3, 2, 16, {4.0f, -4.0f, 1.0f});
  const RoutingPlan plan = resolve(parse_route_spec("router sink=16 window=32 block=16"), 3, route_defaults(&router));
  const auto reports = prefill(t, &router, plan, 250);  // > 200 tokens: boundary pooling downloads 2 ranges
  ASSERT_EQ(reports.size(), 3u);
  const LayerMode expected[] = {LayerMode::SA, LayerMode::FA, LayerMode::SA};
  const float logits[] = {4.0f, -4.0f, 1.0f};
  for (std::size_t l = 0; l < 3; ++l) {
    EXPECT_EQ(reports[l].mode, expected[l]) << l;
    EXPECT_EQ(reports[l].source, DecisionSource::Router);
    ASSERT_TRUE(reports[l].router_score.has_value());
    EXPECT_EQ(reports[l].router_score->side, LayerMode::SA);  // an Elastic router scores SA
    EXPECT_NEAR(reports[l].router_score->prob, 1.0 / (1.0 + std::exp(-logits[l])), 1e-6);
    EXPECT_GE(reports[l].router_ms, 0.0);
    EXPECT_EQ(reports[l].attention, expected[l] == LayerMode::SA ? "streaming" : "full");
  }
  EXPECT_LT(reports[0].density, 1.0);  // the SA layer really ran sparse
  EXPECT_DOUBLE_EQ(reports[1].density, 1.0);
}

TEST(RouterSession, ThresholdOverridesAndNoRouter) {
  Tiny t;
  const LayerRouter router = test::make_router(3, 2, 16, {4.0f, -4.0f, 1.0f});
  // sigmoid(1) = 0.73 → FA at threshold 0.9
  const auto reports =
      prefill(t, &router, resolve(parse_route_spec("router threshold=0.9 override=1=SA"), 3, route_defaults(&router)), 20);
  EXPECT_EQ(reports[0].mode, LayerMode::SA);
  EXPECT_EQ(reports[1].mode, LayerMode::SA);
  EXPECT_EQ(reports[1].source, DecisionSource::Override);
  // The router still scores an overridden layer (its opinion, shown greyed in the app) but the override decides.
  ASSERT_TRUE(reports[1].router_score.has_value());
  EXPECT_NEAR(reports[1].router_score->prob, 1.0 / (1.0 + std::exp(4.0)), 1e-6);
  EXPECT_EQ(decide_layer(*reports[1].router_score, 0.9f), LayerMode::FA);  // it would have chosen FA
  EXPECT_EQ(reports[2].mode, LayerMode::FA);
  EXPECT_EQ(reports[2].source, DecisionSource::Router);

  // A preset without the router never runs it, overrides or not.
  const RoutingPlan fa = resolve(parse_route_spec("fa override=1=SA"), 3, route_defaults(&router));
  for (const auto& r : prefill(t, &router, fa, 20)) EXPECT_FALSE(r.router_score.has_value()) << r.index;

  const auto none = prefill(t, nullptr, resolve(RouteSpec{}, 3, route_defaults(nullptr)), 20);
  for (const auto& r : none) {
    EXPECT_EQ(r.mode, LayerMode::FA);
    EXPECT_FALSE(r.router_score.has_value());
  }
}

TEST(RouterSession, RealRouterMatchesHostDecision) {
  Tiny t;
  const LayerRouter router = test::make_router(3, 2, 16);
  const RoutingPlan plan = resolve(RouteSpec{}, 3, route_defaults(&router));
  const auto reports = prefill(t, &router, plan, 230);
  for (const auto& r : reports) {
    ASSERT_TRUE(r.router_score.has_value());
    EXPECT_EQ(r.mode, r.router_score->prob > 0.5 ? LayerMode::SA : LayerMode::FA);
  }
}

}  // namespace
}  // namespace flux::engine
