#include "engine/runtime/sampler.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "engine/core/error.h"

namespace flux::engine {
namespace {

TEST(Sampler, GreedyPicksArgmax) {
  Sampler s(SamplerSettings{.temperature = 0.0f});
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 1.9f};
  EXPECT_EQ(s.sample(logits, {}), 1);
}

TEST(Sampler, RepetitionPenaltyDemotesSeenTokens) {
  SamplerSettings st{.temperature = 0.0f, .repetition_penalty = 2.0f};
  Sampler s(st);
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 1.9f};
  const std::vector<int32_t> history = {1};
  EXPECT_EQ(s.sample(logits, history), 3);  // 2.0 / 2 = 1.0 < 1.9
}

TEST(Sampler, TopKOneIsGreedyEvenWithTemperature) {
  Sampler s(SamplerSettings{.temperature = 5.0f, .top_k = 1});
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 1.9f};
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(logits, {}), 1);
}

TEST(Sampler, TopPKeepsOnlyTheNucleus) {
  // Probabilities ~ {0.63, 0.23, 0.09, 0.03, ...}: top-p 0.5 keeps only the first token.
  Sampler s(SamplerSettings{.temperature = 1.0f, .top_k = 0, .top_p = 0.5f});
  const std::vector<float> logits = {3.0f, 2.0f, 1.0f, 0.0f};
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.sample(logits, {}), 0);
}

TEST(Sampler, SameSeedSameSequenceAndFrequenciesFollowSoftmax) {
  const std::vector<float> logits = {1.0f, 0.0f, 1.0f, -0.5f};
  SamplerSettings st{.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 7};
  Sampler a(st), b(st);
  std::map<int32_t, int> counts;
  for (int i = 0; i < 4000; ++i) {
    const int32_t x = a.sample(logits, {});
    EXPECT_EQ(x, b.sample(logits, {}));
    ++counts[x];
  }
  // p(0) = p(2) = e / (2e + 1 + e^-0.5) ≈ 0.376
  EXPECT_NEAR(counts[0] / 4000.0, 0.376, 0.03);
  EXPECT_NEAR(counts[2] / 4000.0, 0.376, 0.03);
}

TEST(Sampler, RejectsInvalidSettings) {
  EXPECT_THROW(Sampler(SamplerSettings{.temperature = -1.0f}), Error);
  EXPECT_THROW(Sampler(SamplerSettings{.top_p = 0.0f}), Error);
  EXPECT_THROW(Sampler(SamplerSettings{.top_p = 1.5f}), Error);
}

}  // namespace
}  // namespace flux::engine
