// The router shipped for a model: found next to the model or as <resources>/routers/<stem>.router.safetensors
// (quantization tag dropped), loaded by default when the checkpoint has none, named in the report, switched off
// by default_router = false, and refused with a clear error when it does not fit the model.
#include <gtest/gtest.h>

#include <fstream>

#include "engine/routing/router_file.h"
#include "engine/runtime/engine.h"
#include "tests/engine/routing/router_test_util.h"
#include "tests/engine/support/error_of.h"

namespace flux::engine {
namespace {

namespace fs = std::filesystem;

fs::path demo_model() {
  return fs::path(FLUX_SOURCE_DIR) / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf";
}

void touch(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "x";
}

// A fresh, empty directory per test (the resources dir the engine is pointed at).
fs::path fresh_dir(const std::string& name) {
  const fs::path dir = test::router_temp_dir() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

TEST(DefaultRouter, FindsTheRouterByModelStemWithoutTheQuantTag) {
  const fs::path dir = fresh_dir("find_stem");
  const fs::path models = dir / "models", routers = dir / "routers";
  touch(models / "SmolLM2-135M-Instruct.Q4_1.gguf");
  EXPECT_FALSE(find_default_router(models / "SmolLM2-135M-Instruct.Q4_1.gguf", {routers}).has_value());
  touch(routers / "SmolLM2-135M-Instruct.router.safetensors");
  for (const char* name : {"SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct.Q4_K_M.gguf",
                           "SmolLM2-135M-Instruct.F16.gguf", "SmolLM2-135M-Instruct.gguf"}) {
    const auto found = find_default_router(models / name, {dir / "missing", routers});
    ASSERT_TRUE(found.has_value()) << name;
    EXPECT_EQ(*found, routers / "SmolLM2-135M-Instruct.router.safetensors") << name;
  }
  // A dot that is not a quantization tag stays part of the name.
  EXPECT_FALSE(find_default_router(models / "SmolLM2-135M-Instruct.v2.gguf", {routers}).has_value());
}

TEST(DefaultRouter, ARouterNextToTheModelWins) {
  const fs::path dir = fresh_dir("find_beside");
  const fs::path model = dir / "m" / "tiny.Q8_0.gguf";
  touch(model);
  touch(dir / "routers" / "tiny.router.safetensors");
  touch(fs::path(model.string() + ".router.safetensors"));
  const auto found = find_default_router(model, {dir / "routers"});
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(*found, fs::path(model.string() + ".router.safetensors"));
}

TEST(DefaultRouter, ASeparateHfDirectoryUsesItsName) {
  const fs::path dir = fresh_dir("find_hf_dir");
  fs::create_directories(dir / "SmolLM2-135M-Instruct");
  touch(dir / "routers" / "SmolLM2-135M-Instruct.router.safetensors");
  EXPECT_TRUE(find_default_router(dir / "SmolLM2-135M-Instruct", {dir / "routers"}).has_value());
  EXPECT_TRUE(find_default_router(dir / "SmolLM2-135M-Instruct/", {dir / "routers"}).has_value());
}

class DefaultRouterEngine : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(demo_model())) << demo_model();
    cfg_ = ModelFiles::open(demo_model()).config();
  }
  // A resources/routers dir holding `router` under the demo model's stem.
  fs::path routers_with(const LayerRouter& router, const std::string& name) {
    const fs::path dir = fresh_dir(name);
    save_router(router, dir / "SmolLM2-135M-Instruct.router.safetensors");
    return dir;
  }
  static RunReport run_prompt(Engine& e) {
    RunRequest r;
    r.prompt = "The capital of France is";
    r.settings.max_new_tokens = 1;
    return e.run(r);  // empty plan: the engine's default plan
  }
  ModelConfig cfg_;
};

TEST_F(DefaultRouterEngine, TheShippedRouterRoutesByDefaultAndIsNamedInTheReport) {
  std::vector<float> forced;
  for (int l = 0; l < cfg_.n_layers; ++l) forced.push_back(l % 2 == 0 ? 5.0f : -5.0f);
  const fs::path dir =
      routers_with(test::make_router(cfg_.n_layers, cfg_.n_kv_heads, cfg_.head_dim, forced), "shipped");
  auto engine = Engine::load(demo_model(), EngineOptions{.backend = "cpu", .threads = 2, .router_dirs = {dir}});
  ASSERT_NE(engine->router(), nullptr);
  const fs::path expected = dir / "SmolLM2-135M-Instruct.router.safetensors";
  EXPECT_EQ(engine->router_source(), expected.string());
  for (const LayerRoute& r : engine->default_plan().layers) EXPECT_TRUE(r.from_router);

  const RunReport report = run_prompt(*engine);
  EXPECT_EQ(report.router, expected.string());
  EXPECT_EQ(report.to_json().at("router"), expected.string());
  EXPECT_EQ(RunReport::from_json(report.to_json()).router, expected.string());
  ASSERT_EQ(static_cast<int>(report.layers.size()), cfg_.n_layers);
  for (const LayerReport& l : report.layers) {
    EXPECT_EQ(l.source, DecisionSource::Router) << l.index;
    EXPECT_EQ(l.mode, l.index % 2 == 0 ? LayerMode::SA : LayerMode::FA) << l.index;
    ASSERT_TRUE(l.router_score.has_value()) << l.index;
  }
}

TEST_F(DefaultRouterEngine, DefaultRouterOffMeansNoRouterAndANullReportField) {
  const fs::path dir = routers_with(test::make_router(cfg_.n_layers, cfg_.n_kv_heads, cfg_.head_dim), "off");
  auto engine = Engine::load(
      demo_model(), EngineOptions{.backend = "cpu", .threads = 2, .default_router = false, .router_dirs = {dir}});
  EXPECT_EQ(engine->router(), nullptr);
  EXPECT_EQ(engine->router_source(), "");
  const RunReport report = run_prompt(*engine);
  EXPECT_TRUE(report.to_json().at("router").is_null());
  for (const LayerReport& l : report.layers) EXPECT_EQ(l.mode, LayerMode::FA);
}

TEST_F(DefaultRouterEngine, AnExplicitRouterFileBeatsTheShippedOne) {
  const fs::path dir = routers_with(test::make_router(cfg_.n_layers, cfg_.n_kv_heads, cfg_.head_dim), "explicit");
  const fs::path mine = dir / "mine.router.safetensors";
  save_router(test::make_router(cfg_.n_layers, cfg_.n_kv_heads, cfg_.head_dim, {}, 11), mine);
  auto engine = Engine::load(demo_model(),
                             EngineOptions{.backend = "cpu", .threads = 2, .router_path = mine, .router_dirs = {dir}});
  EXPECT_EQ(engine->router_source(), mine.string());
}

TEST_F(DefaultRouterEngine, NoRouterInTheDirsMeansNone) {
  const fs::path dir = fresh_dir("empty");
  auto engine = Engine::load(demo_model(), EngineOptions{.backend = "cpu", .threads = 2, .router_dirs = {dir}});
  EXPECT_EQ(engine->router(), nullptr);
}

TEST_F(DefaultRouterEngine, AShippedRouterForAnotherShapeIsAClearError) {
  const fs::path dir = routers_with(test::make_router(cfg_.n_layers, cfg_.n_kv_heads, cfg_.head_dim * 2), "mismatch");
  const std::string error = test::error_of(
      [&] { Engine::load(demo_model(), EngineOptions{.backend = "cpu", .threads = 2, .router_dirs = {dir}}); });
  EXPECT_ERROR(error, "SmolLM2-135M-Instruct.router.safetensors does not fit");
  EXPECT_ERROR(error, "head_dim");
  EXPECT_ERROR(error, "--router none");
}

}  // namespace
}  // namespace flux::engine
