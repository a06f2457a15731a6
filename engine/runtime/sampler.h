// Token sampling on the host: greedy, temperature, top-k, top-p, repetition penalty, with a seeded generator so a
// run is reproducible from its settings.
#pragma once

#include <cstdint>
#include <random>
#include <span>

namespace flux::engine {

struct SamplerSettings {
  float temperature = 0.0f;         // 0 = greedy
  int top_k = 40;                   // 0 = off
  float top_p = 0.95f;              // 1 = off
  float repetition_penalty = 1.0f;  // 1 = off (llama.cpp style: divide positive logits, multiply negative)
  int repeat_last_n = 64;
  uint64_t seed = 42;
};

void validate(const SamplerSettings& s);

class Sampler {
 public:
  explicit Sampler(const SamplerSettings& settings);
  // history: previous tokens (prompt and generated), newest last; only the last repeat_last_n are penalized.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history);

 private:
  SamplerSettings settings_;
  std::mt19937_64 rng_;
};

}  // namespace flux::engine
