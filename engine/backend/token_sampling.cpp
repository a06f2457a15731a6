#include "engine/backend/token_sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/core/error.h"

namespace flux::engine {

int32_t sample_token_reference(std::span<const float> logits_in, const SampleParams& p) {
  require(!logits_in.empty(), "sampler: empty logits");
  std::vector<float> logits(logits_in.begin(), logits_in.end());
  const auto n_vocab = static_cast<int32_t>(logits.size());
  if (p.repetition_penalty != 1.0f) {
    for (const int32_t id : p.penalized) {
      if (id < 0 || id >= n_vocab) continue;
      float& l = logits[static_cast<std::size_t>(id)];
      l = l > 0.0f ? l / p.repetition_penalty : l * p.repetition_penalty;
    }
  }
  const auto before = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  if (p.temperature <= 0.0f) {
    int32_t best = 0;
    for (int32_t i = 1; i < n_vocab; ++i)
      if (before(i, best)) best = i;
    return best;
  }
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  const std::size_t k = p.top_k > 0 ? std::min<std::size_t>(ids.size(), static_cast<std::size_t>(p.top_k)) : ids.size();
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(), before);
  // fp32 as on the device: the same rounding keeps both sides on the same token except at exact boundaries.
  std::vector<float> probs(k);
  float sum = 0.0f;
  for (std::size_t i = 0; i < k; ++i) {
    probs[i] = std::exp((logits[ids[i]] - logits[ids[0]]) / p.temperature);
    sum += probs[i];
  }
  std::size_t keep = k;
  float cumulative = 0.0f;
  for (std::size_t i = 0; i < k; ++i) {
    cumulative += probs[i];
    if (cumulative >= p.top_p * sum) {
      keep = i + 1;
      break;
    }
  }
  float kept = 0.0f;
  for (std::size_t i = 0; i < keep; ++i) kept += probs[i];
  const float target = static_cast<float>(p.uniform) * kept;
  float acc = 0.0f;
  for (std::size_t i = 0; i < keep; ++i) {
    acc += probs[i];
    if (acc > target) return ids[i];
  }
  return ids[keep - 1];
}

}  // namespace flux::engine
