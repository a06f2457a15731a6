#include "engine/runtime/token_sampler.h"

#include <algorithm>

namespace flux::engine {

TokenSampler::TokenSampler(const SamplerSettings& settings, Backend& backend)
    : settings_(settings), backend_(backend), rng_(settings.seed) {
  validate(settings);
}

SampleParams TokenSampler::params_for(std::span<const int32_t> history) {
  SampleParams p;
  p.temperature = settings_.temperature;
  p.top_k = settings_.top_k;
  p.top_p = settings_.top_p;
  p.repetition_penalty = settings_.repetition_penalty;
  if (settings_.repetition_penalty != 1.0f && settings_.repeat_last_n > 0) {
    const std::size_t n = std::min(history.size(), static_cast<std::size_t>(settings_.repeat_last_n));
    p.penalized.assign(history.end() - static_cast<std::ptrdiff_t>(n), history.end());
    std::sort(p.penalized.begin(), p.penalized.end());
    p.penalized.erase(std::unique(p.penalized.begin(), p.penalized.end()), p.penalized.end());
  }
  // 53 random bits -> [0, 1); drawn only when sampling is stochastic, so greedy runs consume nothing.
  if (p.temperature > 0.0f) p.uniform = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  return p;
}

int32_t TokenSampler::sample(const Tensor& logits, std::span<const int32_t> history) {
  return backend_.sample_token(logits, params_for(history));
}

}  // namespace flux::engine
