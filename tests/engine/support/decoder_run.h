// Test helper: a prompt through a Decoder in full attention (logits of every position) and a greedy continuation by
// decode steps, recorded once and replayed where the backend records (CUDA graphs), as Session does — without a
// routing plan, so model-level tests depend only on the Decoder and the KV cache.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/model/decoder.h"
#include "engine/runtime/kv_cache.h"

namespace flux::test {

struct DecoderRun {
  std::vector<float> prompt_logits;  // [prompt, vocab]
  std::vector<int32_t> greedy;       // argmax after the prompt, then after each decode step
  std::vector<float> step_logits;    // [n_new - 1, vocab]: the decode steps' logits
};

inline int32_t argmax_of(const std::vector<float>& v, std::size_t begin, std::size_t n) {
  return static_cast<int32_t>(std::max_element(v.begin() + static_cast<std::ptrdiff_t>(begin),
                                               v.begin() + static_cast<std::ptrdiff_t>(begin + n)) -
                              v.begin() - static_cast<std::ptrdiff_t>(begin));
}

// n_new tokens: the prompt's argmax, then one per decode step. Steps feed the previous argmax, or feed[i] when given
// (the same tokens on two backends whose argmax may differ).
inline DecoderRun run_greedy(engine::Decoder& decoder, const std::vector<int32_t>& prompt, int n_new,
                             const std::vector<int32_t>& feed = {}) {
  using namespace flux::engine;
  const ModelConfig& c = decoder.config();
  Backend& backend = decoder.backend();
  const auto n = static_cast<int64_t>(prompt.size());
  KvCache kv(backend, c.n_layers, c.kv_dim(), n + n_new + 1);
  Tensor x = decoder.embed(prompt);
  const RouteFn full = [](int, const auto&...) { return AttentionPlan{}; };
  for (int l = 0; l < c.n_layers; ++l) {
    decoder.prefill_layer(l, x, 0, kv, full);
  }
  DecoderRun run;
  run.prompt_logits.resize(static_cast<std::size_t>(n) * c.vocab_size);
  backend.download(decoder.logits(x), run.prompt_logits);
  const auto vocab = static_cast<std::size_t>(c.vocab_size);
  run.greedy.push_back(argmax_of(run.prompt_logits, (prompt.size() - 1) * vocab, vocab));

  DecodeStep step = backend.make_decode_step();
  Tensor step_logits = backend.empty(1, c.vocab_size);
  auto body = [&] {
    Tensor h = decoder.embed_step(step);
    for (int l = 0; l < c.n_layers; ++l) decoder.decode_layer(l, h, step, kv);
    backend.copy_rows(decoder.logits(h), 0, step_logits, 0, 1);
  };
  std::shared_ptr<void> recording;
  std::vector<float> logits(vocab);
  for (int64_t pos = n; static_cast<int>(run.greedy.size()) < n_new; ++pos) {
    const std::size_t i = run.greedy.size() - 1;
    backend.set_decode_step(step, i < feed.size() ? feed[i] : run.greedy.back(), pos);
    if (pos == n) recording = backend.record(body);
    if (recording) {
      backend.replay(recording);
    } else {
      body();
    }
    kv.advance(pos);
    backend.download(step_logits, logits);
    run.greedy.push_back(argmax_of(logits, 0, vocab));
    run.step_logits.insert(run.step_logits.end(), logits.begin(), logits.end());
  }
  return run;
}

// ||a - b|| / ||b|| over all values (the measure of tests/engine/model/decoder_golden_test.cpp).
inline double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0, ref = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    ref += static_cast<double>(b[i]) * b[i];
  }
  return a.size() == b.size() ? std::sqrt(diff / ref) : INFINITY;
}

}  // namespace flux::test
