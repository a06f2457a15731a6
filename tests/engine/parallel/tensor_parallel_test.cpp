// Tensor parallelism on simulated ranks (threads summing in host memory): the sharded forward — prompt logits and
// greedy decode steps — equals the unsplit decoder for N = 1, 2, 4 ranks on the tiny Llama and Qwen3, with full and
// sparse plans (N = 4 replicates the tiny models' 2 KV heads: GQA groups split across ranks).
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/parallel/host_communicator.h"
#include "engine/parallel/tensor_parallel.h"
#include "engine/runtime/kv_cache.h"
#include "tests/engine/support/decoder_run.h"

namespace flux::engine {
namespace {

struct Case {
  std::string model;  // folder under tests/data
  std::string plan;   // fa, streaming, triangle
  int ranks;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.model << " " << c.plan << " tp" << c.ranks; }

AttentionPlan plan_of(const std::string& name) {
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

constexpr int kNew = 6;

std::vector<int32_t> prompt_tokens(int vocab) {
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

class TensorParallel : public ::testing::TestWithParam<Case> {};

TEST_P(TensorParallel, ShardedForwardEqualsTheUnsplitOne) {
  const Case& tc = GetParam();
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/" + tc.model);
  const ModelConfig& config = files.config();
  auto full_backend = make_cpu_backend(1);
  const DecoderWeights full = load_decoder_weights(files, *full_backend, {}, nullptr, WeightStorage::F32);
  const AttentionPlan plan = plan_of(tc.plan);

  Decoder unsplit(config, load_decoder_weights(files, *full_backend, {}, nullptr, WeightStorage::F32), *full_backend);
  const Logits want = run(
      unsplit, plan, config, [&](const std::vector<int32_t>& t) { return unsplit.embed(t); },
      [&](const Tensor& x) {
        std::vector<float> v(static_cast<std::size_t>(x.rows * config.vocab_size));
        full_backend->download(unsplit.logits(x), v);
        return v;
      });

  if (plan.mode != AttentionMode::Full) {  // the sparse plans really change the result: not FA against FA
    const Logits fa = run(
        unsplit, AttentionPlan{}, config, [&](const std::vector<int32_t>& t) { return unsplit.embed(t); },
        [&](const Tensor& x) {
          std::vector<float> v(static_cast<std::size_t>(x.rows * config.vocab_size));
          full_backend->download(unsplit.logits(x), v);
          return v;
        });
    EXPECT_GT(test::relative_error(fa.values, want.values), 1e-3);
  }

  HostCommunicatorGroup group(tc.ranks);
  std::vector<Logits> got(static_cast<std::size_t>(tc.ranks));
  std::vector<std::string> errors(static_cast<std::size_t>(tc.ranks));
  std::vector<std::unique_ptr<Backend>> backends;
  for (int r = 0; r < tc.ranks; ++r) backends.push_back(make_cpu_backend(1));
  std::vector<std::unique_ptr<TensorParallelDecoder>> ranks;
  for (int r = 0; r < tc.ranks; ++r)  // sharding reads `full` on one thread; the ranks then run concurrently
    ranks.push_back(std::make_unique<TensorParallelDecoder>(config, full, *full_backend, *backends[r], group.rank(r)));
  std::vector<std::thread> threads;
  for (int r = 0; r < tc.ranks; ++r) {
    threads.emplace_back([&, r] {
      TensorParallelDecoder& d = *ranks[static_cast<std::size_t>(r)];
      try {
        got[static_cast<std::size_t>(r)] = run(
            d.local(), plan, config, [&](const std::vector<int32_t>& t) { return d.embed(t); },
            [&](const Tensor& x) { return d.logits(x); });
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int r = 0; r < tc.ranks; ++r) {
    ASSERT_EQ(errors[static_cast<std::size_t>(r)], "") << "rank " << r;
    const Logits& g = got[static_cast<std::size_t>(r)];
    EXPECT_EQ(g.greedy, want.greedy) << "rank " << r;
    ASSERT_EQ(g.values.size(), want.values.size());
    EXPECT_LT(test::relative_error(g.values, want.values), 1e-5) << "rank " << r;
    // Every rank holds the same logits, bit for bit (the all-gather hands out one copy).
    EXPECT_EQ(g.values, got[0].values) << "rank " << r;
  }
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const char* model : {"tiny_llama", "tiny_qwen3"})
    for (const char* plan : {"fa", "streaming", "triangle"})
      for (int n : {1, 2, 4}) out.push_back({model, plan, n});
  return out;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return info.param.model + "_" + info.param.plan + "_tp" + std::to_string(info.param.ranks);
}

INSTANTIATE_TEST_SUITE_P(Models, TensorParallel, ::testing::ValuesIn(cases()), case_name);

TEST(TensorParallelShard, SplitsHeadsUnitsAndVocabularyOrSaysWhyNot) {
  ModelConfig c;
  c.n_heads = 32, c.n_kv_heads = 8, c.head_dim = 128, c.ffn_hidden = 12288, c.vocab_size = 151936;
  const TensorParallelShard s = tensor_parallel_shard(c, 3, 4);
  EXPECT_EQ(s.q_head0, 24);
  EXPECT_EQ(s.n_q_heads, 8);
  EXPECT_EQ(s.kv_head0, 6);
  EXPECT_EQ(s.n_kv_heads, 2);
  EXPECT_EQ(s.ffn0, 9216);
  EXPECT_EQ(s.vocab0, 113952);
  // 16 ranks over 8 KV heads: each KV head on two ranks, each with half its group of 4 query heads.
  const TensorParallelShard r5 = tensor_parallel_shard(c, 5, 16);
  EXPECT_EQ(r5.q_head0, 10);
  EXPECT_EQ(r5.n_q_heads, 2);
  EXPECT_EQ(r5.kv_head0, 2);
  EXPECT_EQ(r5.n_kv_heads, 1);
  EXPECT_THROW(tensor_parallel_shard(c, 0, 3), Error);   // 32 heads do not split in 3
  EXPECT_THROW(tensor_parallel_shard(c, 4, 4), Error);   // no rank 4 of 4
  c.n_kv_heads = 3, c.n_heads = 12;
  EXPECT_THROW(tensor_parallel_shard(c, 0, 2), Error);   // 3 KV heads neither split nor replicate over 2
}

TEST(TensorParallelShard, QuantizedWeightsAreRefusedByName) {
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/tiny_llama");
  auto backend = make_cpu_backend(1);
  DecoderWeights weights = load_decoder_weights(files, *backend, {}, nullptr, WeightStorage::F32);
  const ModelConfig& config = files.config();
  const Tensor& q = weights.layers[1].q_proj;
  weights.layers[1].q_proj = backend->random_weight(q.rows, q.cols, 0.1f, 7, StorageType::Q8_0);  // blocks, not fp32
  ASSERT_NE(weights.layers[1].q_proj.dtype, DType::F32);
  try {
    shard_weights(weights, config, tensor_parallel_shard(config, 0, 2), *backend, *backend);
    ADD_FAILURE() << "sharded Q8_0 blocks as if they were fp32";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("q_proj is not fp32"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace flux::engine
