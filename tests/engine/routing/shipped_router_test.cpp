// The router shipped for the demo model: found by file name, loaded by default, and context-aware — a retrieval
// prompt and a local-continuation prompt get different FA/SA layer patterns (the point of the trained router).
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "engine/routing/router_file.h"
#include "engine/runtime/engine.h"
#include "tests/engine/support/error_of.h"

namespace flux::engine {
namespace {

namespace fs = std::filesystem;

fs::path demo_model() { return fs::path(FLUX_SOURCE_DIR) / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"; }

fs::path temp_dir(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("flux_shipped_router_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

TEST(FindDefaultRouter, StripsExtensionAndQuantizationTag) {
  const fs::path dir = temp_dir("lookup");
  touch(dir / "SmolLM2-135M-Instruct.router.safetensors");
  const auto found = find_default_router("/models/SmolLM2-135M-Instruct.Q4_1.gguf", {dir});
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->filename(), "SmolLM2-135M-Instruct.router.safetensors");
  EXPECT_TRUE(find_default_router("/m/SmolLM2-135M-Instruct.Q4_K_M.gguf", {dir}).has_value());
  EXPECT_TRUE(find_default_router("/m/SmolLM2-135M-Instruct.gguf", {dir}).has_value());
  EXPECT_FALSE(find_default_router("/m/SmolLM2-360M-Instruct.Q4_1.gguf", {dir}).has_value());
  // A dot that is not a quantization tag stays part of the name.
  EXPECT_FALSE(find_default_router("/m/SmolLM2-135M-Instruct.v2.gguf", {dir}).has_value());
  EXPECT_FALSE(find_default_router("/m/SmolLM2-135M-Instruct.Q4_1.gguf", {}).has_value());
}

TEST(FindDefaultRouter, FileBesideTheModelWins) {
  const fs::path dir = temp_dir("beside"), other = temp_dir("beside_other");
  touch(dir / "m.Q8_0.gguf.router.safetensors");
  touch(other / "m.router.safetensors");
  EXPECT_EQ(*find_default_router(dir / "m.Q8_0.gguf", {other}), dir / "m.Q8_0.gguf.router.safetensors");
  EXPECT_EQ(*find_default_router(fs::path("/x/m.Q8_0.gguf"), {other}), other / "m.router.safetensors");
}

TEST(FindDefaultRouter, SourceTreeResourcesAreSearched) {
  bool found = false;
  for (const fs::path& d : default_router_dirs()) found |= fs::exists(d / "SmolLM2-135M-Instruct.router.safetensors");
  EXPECT_TRUE(found);
}

class ShippedRouter : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(fs::exists(demo_model())) << demo_model();
    engine_ = Engine::load(demo_model(), EngineOptions{.backend = "cpu"}).release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  static RunReport run(const std::string& prompt) {
    RunRequest r;
    r.prompt = prompt;
    r.settings.chat = true;
    r.settings.max_new_tokens = 1;
    return engine_->run(r);  // empty plan = the engine's default: the router decides every layer
  }
  static Engine* engine_;
};
Engine* ShippedRouter::engine_ = nullptr;

std::string filler(int sentences) {
  std::string s;
  for (int i = 0; i < sentences; ++i) s += "The grass is green. The sky is blue. The sun is yellow. Here we go. ";
  return s;
}

std::string modes(const RunReport& r) {
  std::string m;
  for (const auto& l : r.layers) m += l.mode == LayerMode::SA ? 'S' : 'F';
  return m;
}

TEST_F(ShippedRouter, LoadedByDefaultAndReported) {
  const LayerRouter* router = engine_->router();
  ASSERT_NE(router, nullptr);
  const float threshold = router->config().threshold;
  const int n_layers = router->n_layers();
  EXPECT_NE(engine_->router_source().find("SmolLM2-135M-Instruct.router.safetensors"), std::string::npos);
  EXPECT_EQ(n_layers, engine_->config().n_layers);
  const RunReport r = run("Hello, who are you?");
  EXPECT_EQ(r.router, engine_->router_source());
  EXPECT_EQ(r.to_json().at("router").get<std::string>(), engine_->router_source());
  EXPECT_EQ(router->config().family, RouterFamily::Flux);  // the authors' architecture (docs/router-training.md)
  for (const auto& l : r.layers) {
    ASSERT_TRUE(l.router_score.has_value());
    EXPECT_EQ(l.source, DecisionSource::Router);
    EXPECT_EQ(l.mode == LayerMode::FA, l.router_score->fa_prob() > threshold);
  }
}

TEST(ShippedRouterPrevious, TheElasticRouterStillLoads) {
  const fs::path previous = fs::path(FLUX_SOURCE_DIR) / "resources" / "routers" / "previous" /
                            "SmolLM2-135M-Instruct.elastic.router.safetensors";
  const LayerRouter router = load_router(previous);
  EXPECT_EQ(router.config().family, RouterFamily::Elastic);
  EXPECT_EQ(router.n_layers(), 30);
}

TEST_F(ShippedRouter, RetrievalAndLocalPromptsRouteDifferently) {
  const RunReport needle = run(
      "There is an important piece of information hidden inside a lot of irrelevant text. Find it and memorize it.\n\n" +
      filler(6) + "The pass key is 40213. Remember it. 40213 is the pass key. " + filler(30) +
      "\n\nWhat is the pass key? Answer with the number only.");
  const RunReport local = run(filler(36) + "\n\nContinue this sequence with the next number: 71, 72, 73, 74, 75, 76,");
  ASSERT_EQ(needle.layers.size(), local.layers.size());
  EXPECT_NE(modes(needle), modes(local));
  // The trained router spends more SA on the local task than on retrieval (bench/RESULTS.md, round 4: robust 0.77
  // vs needle 0.58 on the held-out sweep; 0.70 vs 0.30 on these two prompts on the CPU).
  EXPECT_GT(local.summary.sa_fraction, needle.summary.sa_fraction) << modes(needle) << " vs " << modes(local);
}

TEST(ShippedRouterOff, RouterNoneRunsWithout) {
  auto engine = Engine::load(demo_model(), EngineOptions{.backend = "cpu", .default_router = false});
  EXPECT_EQ(engine->router(), nullptr);
  EXPECT_EQ(engine->router_source(), "");
}

}  // namespace
}  // namespace flux::engine
