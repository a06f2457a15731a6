// Test helper of the tensor-parallel tests (CPU ranks on threads, NCCL ranks on GPUs): the same prompt, prefill
// with one plan and greedy decode loop for the unsplit decoder and for each rank, and the ranks run on threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/model/decoder.h"
#include "engine/parallel/tensor_parallel.h"
#include "engine/runtime/kv_cache.h"
#include "tests/engine/support/decoder_run.h"

namespace flux::engine::tensor_parallel_test {

inline AttentionPlan plan_of(const std::string& name) {
  AttentionPlan p;
  p.block = 16, p.sink = 4, p.window = 16, p.n_last = 8;
  if (name != "fa") p.mode = parse_attention_mode(name);
  return p;
}

// What one run gives: the prompt's last-row logits, then each decode step's logits, and the greedy tokens.
struct Logits {
  std::vector<float> values;
  std::vector<int32_t> greedy;
};

inline constexpr int kNew = 6;

inline std::vector<int32_t> prompt_tokens(int vocab) {
  std::vector<int32_t> p(70);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<int32_t>((i * 37 + 11) % static_cast<std::size_t>(vocab));
  return p;
}

// The same loop for the unsplit decoder and for each rank: embed, prefill every layer with the plan, decode kNew
// greedy steps (the cache of an SA layer prepared for decode as Session does).
template <class Embed, class LogitsOf>
Logits run(Decoder& layers, const AttentionPlan& plan, const ModelConfig& whole, Embed embed, LogitsOf logits_of) {
  const ModelConfig& c = layers.config();
  Backend& b = layers.backend();
  const std::vector<int32_t> prompt = prompt_tokens(whole.vocab_size);
  const auto n = static_cast<int64_t>(prompt.size());
  KvCache kv(b, c.n_layers, c.kv_dim(), n + kNew + 1);
  const LayerMode mode = plan.mode == AttentionMode::Full ? LayerMode::FA : LayerMode::SA;
  const RouteFn route = [&](int, const auto&...) { return plan; };
  Tensor x = embed(std::vector<int32_t>(prompt));
  for (int l = 0; l < c.n_layers; ++l) {
    layers.prefill_layer(l, x, 0, kv, route);
    kv.prepare_decode(l, mode, plan);
  }
  Logits out;
  std::vector<float> last = logits_of(b.row_view(x, n - 1, 1));
  const auto vocab = static_cast<std::size_t>(whole.vocab_size);
  for (int64_t pos = n;; ++pos) {
    out.values.insert(out.values.end(), last.begin(), last.end());
    out.greedy.push_back(test::argmax_of(last, 0, vocab));
    if (static_cast<int>(out.greedy.size()) == kNew) break;
    DecodeStep step = b.make_decode_step();
    b.set_decode_step(step, out.greedy.back(), pos);
    Tensor h = embed(std::vector<int32_t>{out.greedy.back()});
    for (int l = 0; l < c.n_layers; ++l) layers.decode_layer(l, h, step, kv);
    kv.advance(pos);
    last = logits_of(h);
  }
  return out;
}

// run() of the unsplit decoder (its own embed and logits).
inline Logits run_unsplit(Decoder& d, const AttentionPlan& plan) {
  const ModelConfig& config = d.config();
  return run(
      d, plan, config, [&](const std::vector<int32_t>& t) { return d.embed(t); },
      [&](const Tensor& x) {
        std::vector<float> v(static_cast<std::size_t>(x.rows * config.vocab_size));
        d.backend().download(d.logits(x), v);
        return v;
      });
}

// Every rank's run of `plan` on its own thread (they meet in the communicator's collectives); errors[r] is rank r's
// Error message, "" when it ran.
inline std::vector<Logits> run_ranks(std::vector<std::unique_ptr<TensorParallelDecoder>>& ranks,
                                     const AttentionPlan& plan, const ModelConfig& config,
                                     std::vector<std::string>& errors) {
  std::vector<Logits> got(ranks.size());
  errors.assign(ranks.size(), "");
  std::vector<std::thread> threads;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    threads.emplace_back([&, r] {
      TensorParallelDecoder& d = *ranks[r];
      try {
        got[r] = run(
            d.local(), plan, config, [&](const std::vector<int32_t>& t) { return d.embed(t); },
            [&](const Tensor& x) { return d.logits(x); });
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return got;
}

}  // namespace flux::engine::tensor_parallel_test
