// Flux-exact routing on the CUDA backend: the authors' checkpoints (tests/data/flux_router, made by the authors' own
// AttentionRouter class, tools/golden/make_flux_router_golden.py) route on the GPU as in their code. The GPU keeps
// activations in bf16, so the logits match within bf16 rounding (not the CPU's 1e-4) and every decision whose margin
// exceeds that tolerance must agree.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/engine/support/flux_router_golden.h"
#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {
namespace {

class CudaFluxRouterGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaFluxRouterGolden, LogitsAndDecisionsMatchTheAuthorsRouter) {
  const test::FluxGoldenCase c = test::load_flux_golden(GetParam());
  std::unique_ptr<Backend> backend = make_cuda_backend();
  constexpr double kTol = 3e-2;  // bf16 activations through 3 layers and the router MLP
  int decided = 0;
  test::check_golden_layers(c, *backend, [&](const std::string& where, const LayerReport& got,
                                             const nlohmann::json& want_layer) {
    const std::vector<float> want = want_layer["logits"].get<std::vector<float>>();
    for (std::size_t i = 0; i < want.size(); ++i)
      EXPECT_NEAR(got.router_logits[i], want[i], kTol * std::max(1.0, std::abs(double(want[i])))) << where;
    const double margin = want.size() == 2 ? want[1] - want[0] : want[0];
    if (std::abs(margin) > 2 * kTol) {
      EXPECT_EQ(got.mode, want_layer["fa"].get<bool>() ? LayerMode::FA : LayerMode::SA) << where;
      ++decided;
    }
  });
  EXPECT_GT(decided, 0);
}

INSTANTIATE_TEST_SUITE_P(Cases, CudaFluxRouterGolden, ::testing::ValuesIn(test::kFluxGoldenCases));

}  // namespace
}  // namespace flux::engine::testing_gpu
