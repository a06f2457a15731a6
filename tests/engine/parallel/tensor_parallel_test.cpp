// Tensor parallelism on simulated ranks (threads summing in host memory): the sharded forward — prompt logits and
// greedy decode steps — equals the unsplit decoder for N = 1, 2, 4 ranks on the tiny Llama and Qwen3, with full and
// sparse plans (N = 4 replicates the tiny models' 2 KV heads: GQA groups split across ranks).
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/parallel/host_communicator.h"
#include "engine/parallel/tensor_parallel.h"
#include "engine/runtime/kv_cache.h"
#include "tests/engine/parallel/tensor_parallel_run.h"
#include "tests/engine/support/decoder_run.h"

namespace flux::engine {
namespace {

using namespace tensor_parallel_test;

struct Case {
  std::string model;  // folder under tests/data
  std::string plan;   // fa, streaming, triangle
  int ranks;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.model << " " << c.plan << " tp" << c.ranks; }

class TensorParallel : public ::testing::TestWithParam<Case> {};

TEST_P(TensorParallel, ShardedForwardEqualsTheUnsplitOne) {
  const Case& tc = GetParam();
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/" + tc.model);
  const ModelConfig& config = files.config();
  auto full_backend = make_cpu_backend(1);
  const DecoderWeights full = load_decoder_weights(files, *full_backend, {}, nullptr, WeightStorage::F32);
  const AttentionPlan plan = plan_of(tc.plan);

  Decoder unsplit(config, load_decoder_weights(files, *full_backend, {}, nullptr, WeightStorage::F32), *full_backend);
  const Logits want = run_unsplit(unsplit, plan);

  if (plan.mode != AttentionMode::Full) {  // the sparse plans really change the result: not FA against FA
    const Logits fa = run_unsplit(unsplit, AttentionPlan{});
    EXPECT_GT(test::relative_error(fa.values, want.values), 1e-3);
  }

  HostCommunicatorGroup group(tc.ranks);
  std::vector<std::unique_ptr<Backend>> backends;
  for (int r = 0; r < tc.ranks; ++r) backends.push_back(make_cpu_backend(1));
  std::vector<std::unique_ptr<TensorParallelDecoder>> ranks;
  for (int r = 0; r < tc.ranks; ++r)  // sharding reads `full` on one thread; the ranks then run concurrently
    ranks.push_back(std::make_unique<TensorParallelDecoder>(config, full, *full_backend, *backends[r], group.rank(r)));
  std::vector<std::string> errors;
  const std::vector<Logits> got = run_ranks(ranks, plan, config, errors);
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
