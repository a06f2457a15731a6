#include "engine/runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>
#include <vector>

#include "engine/core/error.h"

namespace flux::engine {

void validate(const SamplerSettings& s) {
  require(s.temperature >= 0.0f && std::isfinite(s.temperature), "temperature {} must be >= 0", s.temperature);
  require(s.top_k >= 0, "top-k {} must be >= 0", s.top_k);
  require(s.top_p > 0.0f && s.top_p <= 1.0f, "top-p {} must be in (0, 1]", s.top_p);
  require(s.repetition_penalty > 0.0f, "repetition penalty {} must be > 0", s.repetition_penalty);
  require(s.repeat_last_n >= 0, "repeat-last-n {} must be >= 0", s.repeat_last_n);
}

Sampler::Sampler(const SamplerSettings& settings) : settings_(settings), rng_(settings.seed) { validate(settings); }

int32_t Sampler::sample(std::span<const float> logits_in, std::span<const int32_t> history) {
  require(!logits_in.empty(), "sampler: empty logits");
  std::vector<float> logits(logits_in.begin(), logits_in.end());
  const int32_t n_vocab = static_cast<int32_t>(logits.size());

  if (settings_.repetition_penalty != 1.0f && settings_.repeat_last_n > 0) {
    const std::size_t n = std::min(history.size(), static_cast<std::size_t>(settings_.repeat_last_n));
    std::unordered_set<int32_t> seen(history.end() - static_cast<std::ptrdiff_t>(n), history.end());
    for (int32_t id : seen) {
      if (id < 0 || id >= n_vocab) continue;
      float& l = logits[static_cast<std::size_t>(id)];
      l = l > 0.0f ? l / settings_.repetition_penalty : l * settings_.repetition_penalty;
    }
  }

  if (settings_.temperature <= 0.0f) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  }

  // Candidates sorted by logit, cut by top-k, then softmax with temperature, then cut by top-p.
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  const std::size_t k = settings_.top_k > 0 ? std::min<std::size_t>(ids.size(), settings_.top_k) : ids.size();
  auto by_logit = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(), by_logit);
  ids.resize(k);

  std::vector<double> probs(k);
  const double max_logit = logits[ids[0]];
  double sum = 0.0;
  for (std::size_t i = 0; i < k; ++i) {
    probs[i] = std::exp((logits[ids[i]] - max_logit) / settings_.temperature);
    sum += probs[i];
  }
  std::size_t keep = k;
  double cumulative = 0.0;
  for (std::size_t i = 0; i < k; ++i) {
    cumulative += probs[i] / sum;
    if (cumulative >= settings_.top_p) {
      keep = i + 1;
      break;
    }
  }
  std::discrete_distribution<std::size_t> pick(probs.begin(), probs.begin() + static_cast<std::ptrdiff_t>(keep));
  return ids[pick(rng_)];
}

}  // namespace flux::engine
