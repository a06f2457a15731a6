// Token sampling as one pure function of (logits, parameters, a uniform draw), so the device sampler (CUDA) and the
// host reference pick the same token: penalty → greedy argmax, or top-k (by logit, ties to the lower id) → softmax
// with temperature → top-p cut → inverse CDF at `uniform` over the kept candidates.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace flux::engine {

struct SampleParams {
  float temperature = 0.0f;         // <= 0: greedy
  int top_k = 0;                    // 0 = all of the vocabulary
  float top_p = 1.0f;               // (0, 1]
  float repetition_penalty = 1.0f;  // llama.cpp style: positive logits divided, negative multiplied
  std::vector<int32_t> penalized;   // distinct token ids the penalty applies to (ids outside the vocabulary ignored)
  double uniform = 0.0;             // in [0, 1): the draw that picks among the kept candidates
};

// Host reference of Backend::sample_token.
int32_t sample_token_reference(std::span<const float> logits, const SampleParams& p);

}  // namespace flux::engine
