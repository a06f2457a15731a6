// The sampling rule shared by every backend (sample_token_reference; CUDA implements the same on the device):
// deterministic cases equal the host Sampler exactly, and the stochastic pick is the inverse CDF at the uniform.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engine/backend/backend.h"
#include "engine/backend/token_sampling.h"
#include "engine/runtime/sampler.h"
#include "engine/runtime/token_sampler.h"

namespace flux::engine {
namespace {

std::vector<float> random_logits(std::size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 3.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

TEST(TokenSampling, DeterministicCasesEqualTheHostSampler) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    const std::vector<float> logits = random_logits(1000, seed);
    const std::vector<int32_t> history = {5, 17, 999, 17, static_cast<int32_t>(seed * 31 % 1000)};
    for (float penalty : {1.0f, 1.3f, 0.7f}) {
      SamplerSettings s;
      s.temperature = 0.0f;
      s.repetition_penalty = penalty;
      Sampler host(s);
      auto backend = make_cpu_backend(1);
      TokenSampler device(s, *backend);
      const SampleParams p = device.params_for(history);
      EXPECT_EQ(sample_token_reference(logits, p), host.sample(logits, history)) << seed << " " << penalty;
      // top-k 1 with a temperature is greedy too.
      s.temperature = 0.8f;
      s.top_k = 1;
      Sampler host_k1(s);
      TokenSampler device_k1(s, *backend);
      EXPECT_EQ(sample_token_reference(logits, device_k1.params_for(history)), host_k1.sample(logits, history));
    }
  }
}

TEST(TokenSampling, PenaltyCanMoveTheArgmax) {
  std::vector<float> logits = {1.0f, 3.0f, 2.9f, -1.0f};
  SampleParams p;
  EXPECT_EQ(sample_token_reference(logits, p), 1);
  p.repetition_penalty = 1.1f;
  p.penalized = {1, 7, -2};  // out-of-range ids are ignored
  EXPECT_EQ(sample_token_reference(logits, p), 2);
}

TEST(TokenSampling, UniformPicksByInverseCdfOverTheKeptCandidates) {
  // Probabilities at temperature 1: e^0, e^-1, e^-2, e^-3 (normalized 0.644, 0.237, 0.087, 0.032).
  const std::vector<float> logits = {-3.0f, 0.0f, -2.0f, -1.0f};
  SampleParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.uniform = 0.0;
  EXPECT_EQ(sample_token_reference(logits, p), 1);
  p.uniform = 0.70;
  EXPECT_EQ(sample_token_reference(logits, p), 3);
  p.uniform = 0.90;
  EXPECT_EQ(sample_token_reference(logits, p), 2);
  p.uniform = 0.99;
  EXPECT_EQ(sample_token_reference(logits, p), 0);
  p.top_k = 2;  // only ids 1 and 3 remain: 0.731 / 0.269
  EXPECT_EQ(sample_token_reference(logits, p), 3);
  p.uniform = 0.70;
  EXPECT_EQ(sample_token_reference(logits, p), 1);
  p.top_k = 0;
  p.top_p = 0.5f;  // the first candidate alone reaches 0.5
  p.uniform = 0.99;
  EXPECT_EQ(sample_token_reference(logits, p), 1);
}

TEST(TokenSampling, SeededSamplerIsReproducibleAndSpreads) {
  const std::vector<float> logits = random_logits(50, 3);
  auto backend = make_cpu_backend(1);
  const Tensor t = backend->upload(logits, 1, 50);
  SamplerSettings s;
  s.temperature = 2.0f;
  s.top_k = 0;
  s.top_p = 1.0f;
  TokenSampler a(s, *backend), b(s, *backend);
  std::vector<int32_t> picks;
  for (int i = 0; i < 200; ++i) {
    const int32_t x = a.sample(t, {});
    EXPECT_EQ(x, b.sample(t, {}));
    picks.push_back(x);
  }
  std::sort(picks.begin(), picks.end());
  EXPECT_GT(std::unique(picks.begin(), picks.end()) - picks.begin(), 5);
}

}  // namespace
}  // namespace flux::engine
