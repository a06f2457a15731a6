// Flux-exact routing on the CUDA backend: the authors' checkpoints (tests/data/flux_router, made by the authors' own
// AttentionRouter class, tools/golden/make_flux_router_golden.py) route on the GPU as in their code. The GPU keeps
// activations in bf16, so the logits match within bf16 rounding (not the CPU's 1e-4) and every decision whose margin
// exceeds that tolerance must agree.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/routing/route_spec.h"
#include "engine/routing/router_file.h"
#include "engine/runtime/session.h"
#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {
namespace {

class CudaFluxRouterGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaFluxRouterGolden, LogitsAndDecisionsMatchTheAuthorsRouter) {
  const std::string dir = std::string(FLUX_TEST_DATA_DIR) + "/flux_router/" + GetParam();
  std::ifstream gf(dir + "/golden.json"), cf(dir + "/config.json");
  const nlohmann::json golden = nlohmann::json::parse(gf), config = nlohmann::json::parse(cf);
  const ModelFiles files = ModelFiles::open(dir);
  const std::optional<LayerRouter> router = router_from_checkpoint(files, &config);
  ASSERT_TRUE(router.has_value());
  std::unique_ptr<Backend> backend = make_cuda_backend();
  Decoder decoder(files.config(), load_decoder_weights(files, *backend), *backend);
  const RoutingPlan plan = resolve(RouteSpec{}, files.config().n_layers, route_defaults(&*router));
  constexpr double kTol = 3e-2;  // bf16 activations through 3 layers and the router MLP
  int decided = 0;
  for (const nlohmann::json& p : golden["prompts"]) {
    const std::vector<int32_t> ids = p["ids"].get<std::vector<int32_t>>();
    Session session(decoder, static_cast<int64_t>(ids.size()) + 1);
    session.set_router(&*router);
    std::vector<LayerReport> layers;
    session.prefill(ids, plan, [&](const LayerReport& r) { layers.push_back(r); });
    ASSERT_EQ(layers.size(), p["layers"].size());
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const std::vector<float> want = p["layers"][l]["logits"].get<std::vector<float>>();
      ASSERT_EQ(layers[l].router_logits.size(), want.size());
      for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_NEAR(layers[l].router_logits[i], want[i], kTol * std::max(1.0, std::abs(double(want[i]))))
            << GetParam() << " layer " << l;
      }
      const double margin = want.size() == 2 ? want[1] - want[0] : want[0];
      if (std::abs(margin) > 2 * kTol) {
        const LayerMode expected = p["layers"][l]["fa"].get<bool>() ? LayerMode::FA : LayerMode::SA;
        EXPECT_EQ(layers[l].mode, expected) << GetParam() << " layer " << l;
        ++decided;
      }
    }
  }
  EXPECT_GT(decided, 0);
}

INSTANTIATE_TEST_SUITE_P(Cases, CudaFluxRouterGolden,
                         ::testing::Values("qwen3_softmax_p100", "qwen3_sigmoid_p150", "llama_softmax_p150",
                                           "llama_sigmoid_p100"));

}  // namespace
}  // namespace flux::engine::testing_gpu
