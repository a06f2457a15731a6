// Flux-exact routing: checkpoints in the authors' layout (tools/golden/make_flux_router_golden.py, which runs the
// authors' own AttentionRouter class) load with no router file, and the CPU engine reproduces every layer's router
// logits (relative error <= 1e-4) and every decision, for softmax and sigmoid heads, pool sizes 100 and 150, and
// prompts shorter than, between and longer than 2 * pool_size.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/backend/cpu_backend.h"
#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/routing/route_spec.h"
#include "engine/routing/router_file.h"
#include "engine/runtime/session.h"

namespace flux::engine {
namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  return nlohmann::json::parse(f);
}

class FluxRouterGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(FluxRouterGolden, LogitsAndDecisionsMatchTheAuthorsRouter) {
  const std::string dir = std::string(FLUX_TEST_DATA_DIR) + "/flux_router/" + GetParam();
  const nlohmann::json golden = read_json(dir + "/golden.json");
  const nlohmann::json config = read_json(dir + "/config.json");
  const ModelFiles files = ModelFiles::open(dir);
  const std::optional<LayerRouter> router = router_from_checkpoint(files, &config);
  ASSERT_TRUE(router.has_value());
  EXPECT_EQ(router->family(), RouterFamily::Flux);
  EXPECT_EQ(router->softmax_head(), golden["use_softmax"].get<bool>());
  EXPECT_EQ(router->config().pool_first, golden["pool_size"].get<int>());
  EXPECT_EQ(router->config().sa_kind, golden["toggle_type"].get<std::string>());
  EXPECT_EQ(router->config().decode, "reference");

  CpuBackend backend(1);
  Decoder decoder(files.config(), load_decoder_weights(files, backend), backend);
  const RoutingPlan plan = resolve(RouteSpec{}, files.config().n_layers, route_defaults(&*router));
  int checked = 0, fa = 0;
  for (const nlohmann::json& p : golden["prompts"]) {
    const std::vector<int32_t> ids = p["ids"].get<std::vector<int32_t>>();
    Session session(decoder, static_cast<int64_t>(ids.size()) + 1);
    session.set_router(&*router);
    std::vector<LayerReport> layers;
    session.prefill(ids, plan, [&](const LayerReport& r) { layers.push_back(r); });
    ASSERT_EQ(layers.size(), p["layers"].size());
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const nlohmann::json& want = p["layers"][l];
      const std::vector<float> logits = want["logits"].get<std::vector<float>>();
      const std::string where = GetParam() + " prompt of " + std::to_string(ids.size()) + " layer " + std::to_string(l);
      ASSERT_EQ(layers[l].router_logits.size(), logits.size()) << where;
      for (std::size_t i = 0; i < logits.size(); ++i) {
        const double err = std::abs(double(layers[l].router_logits[i]) - logits[i]);
        EXPECT_LE(err, 1e-4 * std::max(1.0, std::abs(double(logits[i])))) << where << " logit " << i;
      }
      const LayerMode expected = want["fa"].get<bool>() ? LayerMode::FA : LayerMode::SA;
      EXPECT_EQ(layers[l].mode, expected) << where;
      EXPECT_EQ(layers[l].source, DecisionSource::Router) << where;
      ASSERT_TRUE(layers[l].router_score.has_value());
      EXPECT_EQ(layers[l].router_score->side, LayerMode::FA);
      EXPECT_EQ(layers[l].attention, expected == LayerMode::FA ? "full" : golden["toggle_type"].get<std::string>());
      fa += expected == LayerMode::FA;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 9);  // 3 prompts x 3 layers
  // The data must exercise both outcomes somewhere, or a router stuck on one side would pass.
  RecordProperty("fa_decisions", fa);
}

INSTANTIATE_TEST_SUITE_P(Cases, FluxRouterGolden,
                         ::testing::Values("qwen3_softmax_p100", "qwen3_sigmoid_p150", "llama_softmax_p150",
                                           "llama_sigmoid_p100"));

// The authors' config keys: unsupported values are errors naming the key, never silently ignored.
TEST(FluxCheckpointConfig, UnsupportedKeysAreNamed) {
  const std::string dir = std::string(FLUX_TEST_DATA_DIR) + "/flux_router/qwen3_softmax_p100";
  const nlohmann::json good = read_json(dir + "/config.json");
  const ModelFiles files = ModelFiles::open(dir);
  auto error_with = [&](const char* key, const nlohmann::json& value) {
    nlohmann::json c = good;
    if (value.is_null()) c.erase(key); else c[key] = value;
    try {
      router_from_checkpoint(files, &c);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_with("use_softmax", false).find("use_softmax = false"), std::string::npos);
  EXPECT_NE(error_with("pooling_mode", nullptr).find("pooling_mode = 'first_token' (the config class default"),
            std::string::npos);
  EXPECT_NE(error_with("toggle_type", "topk").find("toggle_type = 'topk'"), std::string::npos);
  EXPECT_NE(error_with("retrieval_mode", "topk").find("retrieval_mode = 'topk'"), std::string::npos);
  EXPECT_NE(error_with("pool_size", 0).find("pool_size = 0"), std::string::npos);
  nlohmann::json xs = good;
  xs["retrieval_mode"] = "xattn";  // xattn_streaming: XAttention prefill on the FA side
  const LayerRouter r = *router_from_checkpoint(files, &xs);
  const RouteDefaults d = route_defaults(&r);
  EXPECT_EQ(d.dense.mode, AttentionMode::XAttention);
  EXPECT_EQ(d.sparse.mode, AttentionMode::Streaming);
  EXPECT_EQ(d.decode, DecodeMode::Reference);
  EXPECT_NE(describe_router(r.config(), r.softmax_head()).find("FA iff P(FA) > 0.5"), std::string::npos);
}

// Across all cases, both decisions occur (checked on the golden files themselves).
TEST(FluxRouterGoldenData, BothDecisionsOccur) {
  int fa = 0, sa = 0;
  for (const char* c : {"qwen3_softmax_p100", "qwen3_sigmoid_p150", "llama_softmax_p150", "llama_sigmoid_p100"}) {
    const nlohmann::json g = read_json(std::string(FLUX_TEST_DATA_DIR) + "/flux_router/" + c + "/golden.json");
    for (const auto& p : g["prompts"])
      for (const auto& l : p["layers"]) (l["fa"].get<bool>() ? fa : sa) += 1;
  }
  EXPECT_GT(fa, 0);
  EXPECT_GT(sa, 0);
}

}  // namespace
}  // namespace flux::engine
