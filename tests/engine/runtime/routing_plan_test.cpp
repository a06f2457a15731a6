#include "engine/routing/route_spec.h"

#include <gtest/gtest.h>

#include "engine/core/error.h"

namespace flux::engine {
namespace {

AttentionPlan streaming() {
  AttentionPlan p;
  p.mode = AttentionMode::Streaming;
  return p;
}

TEST(RoutingPlan, Presets) {
  const RoutingPlan fa = make_preset_plan("fa", 6, streaming());
  for (const auto& l : fa.layers) EXPECT_EQ(l.mode, LayerMode::FA);
  EXPECT_EQ(fa.sa_fraction(), 0.0);
  const RoutingPlan sa = make_preset_plan("sa", 6, streaming());
  EXPECT_EQ(sa.sa_fraction(), 1.0);
  EXPECT_EQ(sa.attention_for(3).mode, AttentionMode::Streaming);
  EXPECT_EQ(fa.attention_for(3).mode, AttentionMode::Full);
  const RoutingPlan k = make_preset_plan("first-k:2", 6, streaming());
  EXPECT_EQ(k.layers[1].mode, LayerMode::FA);
  EXPECT_EQ(k.layers[2].mode, LayerMode::SA);
  EXPECT_NEAR(k.sa_fraction(), 4.0 / 6.0, 1e-12);
  const RoutingPlan eo = make_preset_plan("every-other", 4, streaming());
  EXPECT_EQ(eo.layers[0].mode, LayerMode::FA);
  EXPECT_EQ(eo.layers[1].mode, LayerMode::SA);
  EXPECT_THROW(make_preset_plan("half", 4, streaming()), Error);
  EXPECT_THROW(make_preset_plan("first-k:x", 4, streaming()), Error);
}

TEST(RoutingPlan, OverridesSetModeAndSource) {
  RoutingPlan p = make_preset_plan("fa", 10, streaming());
  apply_overrides(p, "2-4=SA,9=sa");
  for (int l = 0; l < 10; ++l) {
    const bool sa = (l >= 2 && l <= 4) || l == 9;
    EXPECT_EQ(p.layers[l].mode, sa ? LayerMode::SA : LayerMode::FA) << l;
    EXPECT_EQ(p.layers[l].source, sa ? DecisionSource::Override : DecisionSource::Default) << l;
  }
  apply_overrides(p, "3=FA");
  EXPECT_EQ(p.layers[3].mode, LayerMode::FA);
  EXPECT_EQ(p.layers[3].source, DecisionSource::Override);
}

TEST(RoutingPlan, BadOverridesAreRejected) {
  RoutingPlan p = make_preset_plan("fa", 4, streaming());
  EXPECT_THROW(apply_overrides(p, "4=SA"), Error);    // out of range
  EXPECT_THROW(apply_overrides(p, "3-1=SA"), Error);  // reversed
  EXPECT_THROW(apply_overrides(p, "1=XX"), Error);
  EXPECT_THROW(apply_overrides(p, "1"), Error);
  EXPECT_THROW(apply_overrides(p, "-1=SA"), Error);
}

}  // namespace
}  // namespace flux::engine
