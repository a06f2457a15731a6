// engine/model/rope_frequencies.cpp against values worked out by hand from HF's modeling_rope_utils.py formulas.
#include "engine/model/rope_frequencies.h"

#include <gtest/gtest.h>

#include <cmath>

namespace flux::engine {
namespace {

void expect_freqs(const RopeTable& t, const std::vector<double>& want) {
  ASSERT_EQ(t.inv_freq.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(t.inv_freq[i], want[i], 1e-12 * want[i]) << i;
}

TEST(RopeFrequencies, PlainIsThetaToTheMinusTwoIOverD) {
  const RopeTable t = rope_frequencies(8, 10000.0, RopeScaling{});
  expect_freqs(t, {1.0, 0.1, 0.01, 0.001});
  EXPECT_EQ(t.attention_scale, 1.0f);
  EXPECT_FALSE(t.dynamic.active());
  // Bit for bit the expression the unscaled backends always used.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(t.inv_freq[static_cast<std::size_t>(i)], std::pow(10000.0, -2.0 * i / 8));
}

TEST(RopeFrequencies, LinearDividesEveryFrequency) {
  RopeScaling s;
  s.type = RopeScalingType::Linear;
  s.factor = 4.0;
  expect_freqs(rope_frequencies(8, 10000.0, s), {0.25, 0.025, 0.0025, 0.00025});
}

TEST(RopeFrequencies, Llama3KeepsHighDividesLowAndSmoothsBetween) {
  RopeScaling s;
  s.type = RopeScalingType::Llama3;
  s.factor = 8.0;
  s.low_freq_factor = 1.0;
  s.high_freq_factor = 4.0;
  s.original_max_position_embeddings = 64;  // wavelengths: < 16 kept, > 64 divided by 8
  // Wavelengths 2π, 20π (medium: smooth = (64 / 20π − 1) / 3), 200π, 2000π.
  const double smooth = (64.0 / (20.0 * M_PI) - 1.0) / 3.0;
  expect_freqs(rope_frequencies(8, 10000.0, s), {1.0, (1 - smooth) * 0.1 / 8 + smooth * 0.1, 0.01 / 8, 0.001 / 8});
  EXPECT_NEAR(rope_frequencies(8, 10000.0, s).inv_freq[1], 0.013042256043820465, 1e-15);
}

TEST(RopeFrequencies, YarnRampsBetweenCorrectionDimsAndScalesCosSin) {
  RopeScaling s;
  s.type = RopeScalingType::Yarn;
  s.factor = 4.0;
  s.original_max_position_embeddings = 64;
  // Correction dims: beta_fast 32 → -0.497 → floor 0 (clamped); beta_slow 1 → 1.008 → ceil 2. Ramp (i − 0) / 2.
  const RopeTable t = rope_frequencies(8, 10000.0, s);
  expect_freqs(t, {1.0, 0.1 * (0.5 / 4 + 0.5), 0.01 / 4, 0.001 / 4});
  EXPECT_FLOAT_EQ(t.attention_scale, static_cast<float>(0.1 * std::log(4.0) + 1.0));
  s.attention_factor = 0.75;
  EXPECT_FLOAT_EQ(rope_frequencies(8, 10000.0, s).attention_scale, 0.75f);
  s.attention_factor.reset();
  s.mscale = 1.0;
  s.mscale_all_dim = 1.0;  // DeepSeek style: the ratio of equal mscales is 1
  EXPECT_FLOAT_EQ(rope_frequencies(8, 10000.0, s).attention_scale, 1.0f);
}

TEST(RopeFrequencies, DynamicGrowsTheBaseOnlyPastTheMaximumAndFollowsDecodePositions) {
  RopeScaling s;
  s.type = RopeScalingType::Dynamic;
  s.factor = 2.0;
  s.original_max_position_embeddings = 64;
  const RopeTable plain = rope_frequencies(4, 10000.0, RopeScaling{});
  // Up to the maximum: exactly the plain table.
  EXPECT_EQ(rope_frequencies(4, 10000.0, s, 64).inv_freq, plain.inv_freq);
  EXPECT_EQ(rope_frequencies(4, 10000.0, s, 0).inv_freq, plain.inv_freq);
  // seq_len 128: base = 10000 · (2 · 128 / 64 − 1)^(4 / 2) = 90000.
  const RopeTable grown = rope_frequencies(4, 10000.0, s, 128);
  expect_freqs(grown, {1.0, 1.0 / 300.0});
  ASSERT_TRUE(grown.dynamic.active());
  EXPECT_DOUBLE_EQ(grown.dynamic.base(128), 90000.0);
  // A decode step at position 127 rotates as a prefill of 128 tokens would; at 10 as plain RoPE.
  EXPECT_EQ(plain.inv_freq, rope_frequencies(4, 10000.0, s).at_decode_position(10).inv_freq);
  EXPECT_EQ(rope_frequencies(4, 10000.0, s).at_decode_position(127).inv_freq, grown.inv_freq);
}

TEST(RopeFrequencies, FreqFactorsDivideEachPair) {
  RopeScaling s;
  s.type = RopeScalingType::FreqFactors;
  s.freq_factors = {1.0f, 2.0f, 8.0f, 0.5f};
  expect_freqs(rope_frequencies(8, 10000.0, s), {1.0, 0.05, 0.00125, 0.002});
}

}  // namespace
}  // namespace flux::engine
