// The static baselines at the router's SA share (issue 16): round(f·L) SA layers, first-k:match's last layers,
// random:match's seeded distinct sets, and the forced route that runs exactly those layers as SA.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "engine/routing/matched_baselines.h"
#include "tests/engine/support/error_of.h"

namespace flux::engine {
namespace {

TEST(MatchedBaselines, CountsRoundHalfAwayFromZero) {
  EXPECT_EQ(matched_sa_layers(0.0, 30), 0);
  EXPECT_EQ(matched_sa_layers(0.5, 30), 15);
  EXPECT_EQ(matched_sa_layers(0.25, 30), 8);  // 7.5 rounds up
  EXPECT_EQ(matched_sa_layers(1.0, 30), 30);
  EXPECT_ERROR(test::error_of([] { matched_sa_layers(1.5, 30); }), "outside [0, 1]");
}

TEST(MatchedBaselines, FirstKMatchIsTheLastLayers) {
  EXPECT_EQ(first_k_match_layers(6, 2), (std::vector<int>{4, 5}));
  EXPECT_TRUE(first_k_match_layers(6, 0).empty());
  EXPECT_ERROR(test::error_of([] { first_k_match_layers(6, 7); }), "7 SA layers of 6");
}

TEST(MatchedBaselines, RandomSetsAreSeededDistinctAndSorted) {
  const auto sets = random_match_sets(30, 11, 5);
  ASSERT_EQ(sets.size(), 5u);
  std::set<std::vector<int>> distinct(sets.begin(), sets.end());
  EXPECT_EQ(distinct.size(), 5u);
  for (std::size_t s = 0; s < sets.size(); ++s) {
    EXPECT_EQ(sets[s].size(), 11u);
    EXPECT_TRUE(std::is_sorted(sets[s].begin(), sets[s].end()));
    EXPECT_EQ(std::set<int>(sets[s].begin(), sets[s].end()).size(), 11u);
    EXPECT_GE(sets[s].front(), 0);
    EXPECT_LT(sets[s].back(), 30);
  }
  EXPECT_EQ(sets[0], random_layer_set(30, 11, 1));  // seed s draws first from s
  EXPECT_EQ(random_match_sets(30, 11, 5), sets);    // the same sets every time
  // Only one set of 0 (or all) layers exists: fewer sets than seeds, no endless redraw.
  EXPECT_EQ(random_match_sets(30, 0, 5).size(), 1u);
  EXPECT_EQ(random_match_sets(4, 4, 3).size(), 1u);
}

TEST(MatchedBaselines, ForcedRouteRunsExactlyThoseLayersSa) {
  RouteSpec base = parse_route_spec("router sa=triangle n_last=64 override=0-3=FA");
  const RouteSpec forced = forced_sa_route(base, {2, 7});
  EXPECT_EQ(describe(forced), "fa sa=triangle n_last=64 override=2=SA,7=SA");
  const RoutingPlan plan = resolve(forced, 10, RouteDefaults{});
  for (int l = 0; l < 10; ++l)
    EXPECT_EQ(plan.layers[std::size_t(l)].mode, l == 2 || l == 7 ? LayerMode::SA : LayerMode::FA) << l;
}

}  // namespace
}  // namespace flux::engine
