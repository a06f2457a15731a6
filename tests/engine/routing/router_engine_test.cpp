// Engine integration on the demo model: a router file given through EngineOptions::router_path routes the run
// (default plan = router), user overrides still win, a mismatched router is refused, and no router means all FA.
#include <gtest/gtest.h>

#include "engine/routing/router_file.h"
#include "engine/routing/route_spec.h"
#include "engine/runtime/engine.h"
#include "tests/engine/routing/router_test_util.h"
#include "tests/engine/support/error_of.h"

namespace flux::engine {
namespace {

std::filesystem::path demo_model() {
  return std::filesystem::path(FLUX_SOURCE_DIR) / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf";
}

RunReport run_prompt(Engine& e, RouteSpec route) {
  RunRequest r;
  r.prompt = "The capital of France is";
  r.settings.max_new_tokens = 1;
  r.route = std::move(route);
  return e.run(r);
}

TEST(RouterEngine, RouterFileRoutesTheDemoModel) {
  ASSERT_TRUE(std::filesystem::exists(demo_model())) << demo_model();
  const ModelConfig cfg = ModelFiles::open(demo_model()).config();
  std::vector<float> forced;
  for (int l = 0; l < cfg.n_layers; ++l) forced.push_back(l % 3 == 0 ? 6.0f : -6.0f);
  const auto path = test::router_temp_dir() / "demo_router.safetensors";
  save_router(test::make_router(cfg.n_layers, cfg.n_kv_heads, cfg.head_dim, forced), path);

  EngineOptions options{.backend = "cpu", .threads = 2};
  options.router_path = path;
  auto engine = Engine::load(demo_model(), options);
  ASSERT_NE(engine->router(), nullptr);
  const RunReport report = run_prompt(*engine, {});
  ASSERT_EQ(static_cast<int>(report.layers.size()), cfg.n_layers);
  for (const LayerReport& l : report.layers) {
    EXPECT_EQ(l.mode, l.index % 3 == 0 ? LayerMode::SA : LayerMode::FA) << l.index;
    EXPECT_EQ(l.source, DecisionSource::Router);
    ASSERT_TRUE(l.router_score.has_value());
  }
  const RunReport overridden = run_prompt(*engine, parse_route_spec("override=0=FA"));
  EXPECT_EQ(overridden.layers[0].mode, LayerMode::FA);
  EXPECT_EQ(overridden.layers[0].source, DecisionSource::Override);
  EXPECT_EQ(overridden.layers[3].mode, LayerMode::SA);

  const auto wrong = test::router_temp_dir() / "wrong_router.safetensors";
  save_router(test::make_router(cfg.n_layers + 1, cfg.n_kv_heads, cfg.head_dim), wrong);
  options.router_path = wrong;
  EXPECT_ERROR(test::error_of([&] { Engine::load(demo_model(), options); }), "router has");
}

TEST(RouterEngine, NoRouterRunsAllFaWithRouterPreset) {
  auto engine = Engine::load(demo_model(), EngineOptions{.backend = "cpu", .threads = 2, .default_router = false});
  EXPECT_EQ(engine->router(), nullptr);
  const RunReport report = run_prompt(*engine, RouteSpec{});
  for (const LayerReport& l : report.layers) {
    EXPECT_EQ(l.mode, LayerMode::FA);
    EXPECT_EQ(l.source, DecisionSource::Default);
  }
}

}  // namespace
}  // namespace flux::engine
