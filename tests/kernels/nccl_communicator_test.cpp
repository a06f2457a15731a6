// The NCCL communicator (engine/parallel/nccl_communicator.h, issue 21) on the GPU machine: one rank's all-reduce and
// all-gather hand the data back unchanged, ranks on every visible GPU (when there are two or more) sum and gather in
// rank order, and the tensor-parallel decoder of tests/engine/parallel run as one NCCL rank on the CUDA backend gives
// the unsplit CUDA decoder's logits and greedy tokens (tiny Llama and Qwen3, FA and streaming SA).
#include <gtest/gtest.h>

#include <cuda_runtime.h>

#include <string>
#include <thread>
#include <vector>

#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/parallel/nccl_communicator.h"
#include "engine/parallel/tensor_parallel.h"
#include "tests/engine/parallel/tensor_parallel_run.h"
#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {
namespace {

using namespace tensor_parallel_test;

#define FLUX_REQUIRE_NCCL()                                                                            \
  do {                                                                                                 \
    FLUX_REQUIRE_GPU();                                                                                \
    if (!::flux::engine::nccl_built()) GTEST_SKIP() << "this build has no NCCL (see CMake's output)"; \
  } while (0)

TEST(NcclCommunicator, OneRankHandsTheDataBack) {
  FLUX_REQUIRE_NCCL();
  const auto comm = make_nccl_communicator(make_nccl_id(), 0, 1, 0);
  EXPECT_EQ(comm->rank(), 0);
  EXPECT_EQ(comm->size(), 1);
  std::vector<float> data = random_bf16(100'003, 1);  // odd length: no chunk-size assumptions
  const std::vector<float> before = data;
  comm->all_reduce_sum(data);
  EXPECT_EQ(data, before);
  std::vector<float> all(before.size(), 0.0f);
  comm->all_gather(before, all);
  EXPECT_EQ(all, before);
  std::vector<float> wrong(before.size() + 1);
  EXPECT_THROW(comm->all_gather(before, wrong), Error);
  // A bigger collective after a smaller one (the device buffer grows).
  std::vector<float> big = random_bf16(1 << 20, 2);
  const std::vector<float> big_before = big;
  comm->all_reduce_sum(big);
  EXPECT_EQ(big, big_before);
}

TEST(NcclCommunicator, RanksOnEveryGpuSumAndGatherInRankOrder) {
  FLUX_REQUIRE_NCCL();
  int devices = 0;
  ASSERT_EQ(cudaGetDeviceCount(&devices), cudaSuccess);
  if (devices < 2) GTEST_SKIP() << "one GPU: the one-rank test covers it";
  const NcclId id = make_nccl_id();
  constexpr std::size_t kN = 4099;
  std::vector<std::vector<float>> sums(static_cast<std::size_t>(devices)), gathered(sums.size());
  std::vector<std::string> errors(sums.size());
  std::vector<std::thread> threads;
  for (int r = 0; r < devices; ++r) {
    threads.emplace_back([&, r] {
      try {
        const auto comm = make_nccl_communicator(id, r, devices, r);  // every rank joins at once
        std::vector<float> data(kN);
        for (std::size_t i = 0; i < kN; ++i) data[i] = static_cast<float>((r + 1) * 1000 + static_cast<int>(i % 7));
        const std::vector<float> mine(data.begin(), data.begin() + 5);
        comm->all_reduce_sum(data);
        std::vector<float> all(mine.size() * static_cast<std::size_t>(devices));
        comm->all_gather(mine, all);
        sums[static_cast<std::size_t>(r)] = data;
        gathered[static_cast<std::size_t>(r)] = all;
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const int rank_sum = devices * (devices + 1) / 2;
  for (int r = 0; r < devices; ++r) {
    const auto ur = static_cast<std::size_t>(r);
    ASSERT_EQ(errors[ur], "") << "rank " << r;
    for (std::size_t i = 0; i < kN; ++i)
      ASSERT_EQ(sums[ur][i], static_cast<float>(rank_sum * 1000 + devices * static_cast<int>(i % 7))) << i;
    EXPECT_EQ(sums[ur], sums[0]) << "rank " << r;  // the same bits everywhere
    for (int from = 0; from < devices; ++from)
      EXPECT_EQ(gathered[ur][static_cast<std::size_t>(from) * 5], static_cast<float>((from + 1) * 1000)) << from;
  }
}

struct Case {
  std::string model;  // folder under tests/data
  std::string plan;   // fa, streaming
};

class NcclTensorParallel : public ::testing::TestWithParam<Case> {};

// One NCCL rank holds the whole model: the same weights as the unsplit decoder (both uploaded from the fp32 copy by
// shard_weights), so what differs is only the path of the residual adds (the product, through NCCL and back, then
// the add) and of the embedding and logits.
TEST_P(NcclTensorParallel, OneRankDecodesAsTheUnsplitDecoder) {
  FLUX_REQUIRE_NCCL();
  const Case& tc = GetParam();
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/" + tc.model);
  const ModelConfig& config = files.config();
  auto host = make_cpu_backend(1);
  const DecoderWeights full = load_decoder_weights(files, *host, {}, nullptr, WeightStorage::F32);
  const AttentionPlan plan = plan_of(tc.plan);

  auto gpu = make_cuda_backend();
  Decoder unsplit(config, shard_weights(full, config, tensor_parallel_shard(config, 0, 1), *host, *gpu), *gpu);
  const Logits want = run_unsplit(unsplit, plan);

  auto rank_gpu = make_cuda_backend();
  const auto comm = make_nccl_communicator(make_nccl_id(), 0, 1, 0);
  std::vector<std::unique_ptr<TensorParallelDecoder>> ranks;
  ranks.push_back(std::make_unique<TensorParallelDecoder>(config, full, *host, *rank_gpu, *comm));
  std::vector<std::string> errors;
  const std::vector<Logits> got = run_ranks(ranks, plan, config, errors);
  ASSERT_EQ(errors[0], "");
  EXPECT_EQ(got[0].greedy, want.greedy);
  ASSERT_EQ(got[0].values.size(), want.values.size());
  const double err = test::relative_error(got[0].values, want.values);
  std::printf("[ measure ] %s %s tp1 over NCCL vs unsplit on the GPU: relative error %.3g\n", tc.model.c_str(),
              tc.plan.c_str(), err);
  EXPECT_LT(err, 2e-2);  // the bound of CudaModel (bf16 activations); the extra rounding is one per residual add
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.model + "_" + info.param.plan; }

INSTANTIATE_TEST_SUITE_P(Models, NcclTensorParallel,
                         ::testing::Values(Case{"tiny_llama", "fa"}, Case{"tiny_llama", "streaming"},
                                           Case{"tiny_qwen3", "fa"}, Case{"tiny_qwen3", "streaming"}),
                         case_name);

}  // namespace
}  // namespace flux::engine::testing_gpu
