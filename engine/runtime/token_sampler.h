// Sampling for a run: turns SamplerSettings + history into Backend::sample_token parameters, drawing the uniform
// from a generator seeded by the settings. The logits stay on the backend (CUDA samples on the device and reads back
// only the id); every backend picks with the same rule (token_sampling.h), so a seed means the same on all of them.
#pragma once

#include <cstdint>
#include <random>
#include <span>

#include "engine/backend/backend.h"
#include "engine/runtime/sampler.h"

namespace flux::engine {

class TokenSampler {
 public:
  TokenSampler(const SamplerSettings& settings, Backend& backend);
  // logits [1, vocab] on the backend; history: prompt and generated tokens, newest last.
  int32_t sample(const Tensor& logits, std::span<const int32_t> history);
  // The parameters sample() passes for this history (draws the next uniform when sampling is stochastic).
  SampleParams params_for(std::span<const int32_t> history);

 private:
  SamplerSettings settings_;
  Backend& backend_;
  std::mt19937_64 rng_;
};

}  // namespace flux::engine
