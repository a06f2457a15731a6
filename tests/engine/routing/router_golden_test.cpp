// The C++ router against the training code: tools/router/make_router_golden.py ran the PyTorch router modules of
// tools/router/router_model.py (the Flux one is what train_router.py trains; the Elastic one trained the previous
// shipped router) on fixed inputs and stored their logits (float64).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/routing/layer_router.h"
#include "engine/routing/router_file.h"

namespace flux::engine {
namespace {

const std::string kDir = std::string(FLUX_TEST_DATA_DIR) + "/router";

TEST(RouterGolden, LogitsAndDecisionsMatchTheTrainingCode) {
  const LayerRouter router = load_router(kDir + "/golden_router.safetensors");
  std::ifstream in(kDir + "/golden_cases.json");
  ASSERT_TRUE(in.good());
  const nlohmann::json golden = nlohmann::json::parse(in);
  const RouterConfig& cfg = router.config();
  ASSERT_EQ(router.n_layers(), 2);
  int checked = 0, sa = 0;
  for (const auto& c : golden.at("cases")) {
    const int64_t n = c.at("n_tokens").get<int64_t>();
    const std::vector<float> keys = c.at("keys").get<std::vector<float>>();
    ASSERT_EQ(static_cast<int64_t>(keys.size()), n * cfg.n_kv_heads * cfg.head_dim);
    for (int layer = 0; layer < router.n_layers(); ++layer) {
      const auto& want = c.at("layers").at(layer);
      const RouterDecision d = router.decide(layer, keys.data(), n, cfg.n_kv_heads, cfg.head_dim);
      const double logit = want.at("logit").get<double>();
      EXPECT_NEAR(d.logit, logit, 1e-4 * std::max(1.0, std::abs(logit))) << "n=" << n << " layer " << layer;
      EXPECT_NEAR(d.score.prob, want.at("prob").get<double>(), 1e-5);
      EXPECT_EQ(d.mode == LayerMode::SA ? "SA" : "FA", want.at("mode").get<std::string>());
      sa += d.mode == LayerMode::SA;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 4);
  EXPECT_GT(sa, 0);        // the golden set exercises both decisions
  EXPECT_LT(sa, checked);
}

TEST(RouterGolden, FluxLogitsAndDecisionsMatchTheTrainingCode) {
  const LayerRouter router = load_router(kDir + "/golden_flux_router.safetensors");
  std::ifstream in(kDir + "/golden_flux_cases.json");
  ASSERT_TRUE(in.good());
  const nlohmann::json golden = nlohmann::json::parse(in);
  const RouterConfig& cfg = router.config();
  ASSERT_EQ(cfg.family, RouterFamily::Flux);
  ASSERT_EQ(router.n_layers(), 2);
  int checked = 0, fa = 0;
  for (const auto& c : golden.at("cases")) {
    const int64_t n = c.at("n_tokens").get<int64_t>();
    const int heads = c.at("n_heads").get<int>();
    const std::vector<float> queries = c.at("queries").get<std::vector<float>>();
    ASSERT_EQ(static_cast<int64_t>(queries.size()), n * heads * cfg.head_dim);
    for (int layer = 0; layer < router.n_layers(); ++layer) {
      const auto& want = c.at("layers").at(layer);
      const RouterDecision d = router.decide(layer, queries.data(), n, heads, cfg.head_dim);
      const std::vector<double> logits = want.at("logits").get<std::vector<double>>();
      ASSERT_EQ(d.logits.size(), logits.size());
      for (std::size_t i = 0; i < logits.size(); ++i)
        EXPECT_NEAR(d.logits[i], logits[i], 1e-4 * std::max(1.0, std::abs(logits[i]))) << "n=" << n << " layer " << layer;
      EXPECT_NEAR(d.score.fa_prob(), want.at("fa_prob").get<double>(), 1e-5);
      EXPECT_EQ(d.mode == LayerMode::SA ? "SA" : "FA", want.at("mode").get<std::string>());
      fa += d.mode == LayerMode::FA;
      ++checked;
    }
  }
  EXPECT_EQ(checked, 6);
  EXPECT_GT(fa, 0);  // the golden set exercises both decisions
  EXPECT_LT(fa, checked);
}

}  // namespace
}  // namespace flux::engine
