// GPU XAttention against the CPU reference (engine/attention/xattention.h): antidiagonal block scores within fp32
// rounding (chunked and unchunked scoring bit-identical), and block selection on the SAME float scores exactly equal
// to select_blocks_from_scores (ties, τ = 1, more KV than query blocks). Whole XAttention prefill vs CpuBackend is in
// cuda_attention_test.cpp (Grid/CudaPrefill, Blocks/CudaPrefillLong).
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "engine/attention/xattention.h"
#include "kernels/launch.h"
#include "tests/kernels/device_buffer.h"
#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {
namespace {

#define CUDA_OK(call) ASSERT_EQ((call), cudaSuccess) << #call

struct ScoreCase {
  int64_t n;
  int n_heads, n_kv_heads, head_dim, block, stride;
};

// GPU scores for one case; chunk_rows 0 = one chunk for everything.
std::vector<float> gpu_scores(const ScoreCase& c, const std::vector<float>& q, const std::vector<float>& k,
                              int64_t chunk_rows) {
  const auto dq = upload_bf16(q), dk = upload_bf16(k);
  kernels::XAttnArgs a;
  a.q = dq->ptr;
  a.k = dk->ptr;
  a.n = c.n;
  a.n_heads = c.n_heads;
  a.n_kv_heads = c.n_kv_heads;
  a.head_dim = c.head_dim;
  a.stride = c.stride;
  a.block = c.block;
  a.scale = 1.0f / (std::sqrt(static_cast<float>(c.head_dim)) * static_cast<float>(c.stride));
  const int64_t m = (c.n + c.stride - 1) / c.stride, nb = (c.n + c.block - 1) / c.block;
  const int64_t chunk = chunk_rows > 0 ? chunk_rows : kernels::xattn_chunk_rows(a, int64_t{1} << 40);
  DeviceBuffer<float> logits(static_cast<std::size_t>(c.n_heads * chunk * m));
  DeviceBuffer<float> scores(static_cast<std::size_t>(c.n_heads * nb * nb));
  EXPECT_EQ(cudaMemset(scores.ptr, 0xff, static_cast<std::size_t>(c.n_heads * nb * nb) * sizeof(float)), cudaSuccess);
  EXPECT_TRUE(kernels::launch_xattn_scores(a, logits.ptr, chunk, scores.ptr, nullptr));
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  return download(scores.ptr, static_cast<std::size_t>(c.n_heads * nb * nb));
}

class CudaXAttnScores : public ::testing::TestWithParam<ScoreCase> {};

TEST_P(CudaXAttnScores, MatchCpuAndChunkingIsExact) {
  FLUX_REQUIRE_GPU();
  const ScoreCase c = GetParam();
  const uint32_t seed = static_cast<uint32_t>(c.n * 13 + c.head_dim + c.block);
  const auto q = random_bf16(static_cast<std::size_t>(c.n * c.n_heads * c.head_dim), seed, 2.0f);
  const auto k = random_bf16(static_cast<std::size_t>(c.n * c.n_kv_heads * c.head_dim), seed + 1, 2.0f);
  AttentionPlan plan;
  plan.mode = AttentionMode::XAttention;
  plan.block = c.block;
  plan.stride = c.stride;
  const auto cpu = xattention_block_scores(q.data(), k.data(), c.n, c.n_heads, c.n_kv_heads, c.head_dim, plan);
  const auto gpu = gpu_scores(c, q, k, 0);
  ASSERT_EQ(gpu.size(), cpu.size());
  double max_abs = 0.0;
  for (std::size_t i = 0; i < cpu.size(); ++i) max_abs = std::max(max_abs, std::abs(double{gpu[i]} - cpu[i]));
  const double err = rel_err(gpu, cpu);
  EXPECT_LT(err, 1e-3) << "n " << c.n << " d " << c.head_dim << " block " << c.block;
  EXPECT_LT(max_abs, 1e-3) << "n " << c.n;
  std::cout << "[metric] xattn scores n=" << c.n << " d=" << c.head_dim << " block=" << c.block << " rel_err=" << err
            << " max_abs=" << max_abs << "\n";
  // One query block per chunk: the same numbers bit for bit (chunking only bounds memory).
  const auto chunked = gpu_scores(c, q, k, c.block / c.stride);
  EXPECT_EQ(chunked, gpu);
}

INSTANTIATE_TEST_SUITE_P(Shapes, CudaXAttnScores,
                         ::testing::Values(ScoreCase{1, 2, 1, 64, 64, 16}, ScoreCase{100, 4, 2, 64, 32, 8},
                                           ScoreCase{1000, 8, 2, 128, 128, 16}, ScoreCase{2100, 8, 2, 128, 64, 16},
                                           ScoreCase{2049, 9, 3, 64, 128, 16}, ScoreCase{777, 4, 4, 128, 16, 16}));

// Selection on identical float scores: the GPU lists equal the CPU lists exactly.
void expect_same_selection(const std::vector<float>& scores, int n_heads, int nq, int nkv, float threshold) {
  const BlockLists cpu = select_blocks_from_scores(scores, n_heads, nq, nkv, threshold);
  const int64_t rows = int64_t{n_heads} * nq, dense = kernels::xattn_dense_list_size(n_heads, nq, nkv);
  DeviceBuffer<float> ds(scores.size());
  DeviceBuffer<int32_t> scratch(static_cast<std::size_t>(dense)), counts(static_cast<std::size_t>(rows)),
      offsets(static_cast<std::size_t>(rows + 1)), blocks(static_cast<std::size_t>(dense));
  ASSERT_EQ(cudaMemcpy(ds.ptr, scores.data(), scores.size() * 4, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_TRUE(kernels::launch_xattn_select(ds.ptr, n_heads, nq, nkv, threshold, scratch.ptr, counts.ptr, offsets.ptr,
                                           blocks.ptr, nullptr));
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  const auto off = download(offsets.ptr, static_cast<std::size_t>(rows + 1));
  ASSERT_EQ(off, cpu.offsets) << "heads " << n_heads << " nq " << nq << " nkv " << nkv << " tau " << threshold;
  const auto kv = download(blocks.ptr, static_cast<std::size_t>(off.back()));
  EXPECT_EQ(kv, cpu.kv_blocks) << "heads " << n_heads << " nq " << nq << " nkv " << nkv << " tau " << threshold;
}

TEST(CudaXAttnSelect, EqualsCpuOnRandomScoresWithTies) {
  FLUX_REQUIRE_GPU();
  std::mt19937 rng(7);
  const std::vector<std::pair<int, int>> shapes = {{1, 1}, {2, 2}, {7, 10}, {33, 33}, {130, 130}, {300, 300}};
  for (const auto& [nq, nkv] : shapes) {
    for (const float tau : {0.3f, 0.9f, 0.99f, 1.0f}) {
      const int heads = 3;
      std::vector<float> s(static_cast<std::size_t>(heads) * nq * nkv, 0.0f);
      std::uniform_int_distribution<int> coarse(0, 7);  // few distinct values: many ties
      std::uniform_real_distribution<float> fine(0.0f, 1.0f);
      for (int h = 0; h < heads; ++h)
        for (int qb = 0; qb < nq; ++qb)
          for (int kb = 0; kb <= qb + nkv - nq; ++kb)
            s[(static_cast<std::size_t>(h) * nq + qb) * nkv + kb] =
                (qb % 2 == 0) ? static_cast<float>(coarse(rng)) * 0.125f : fine(rng);
      expect_same_selection(s, heads, nq, nkv, tau);
    }
  }
}

TEST(CudaXAttnSelect, EqualsCpuOnRealScores) {
  FLUX_REQUIRE_GPU();
  const int64_t n = 3000;
  const auto q = random_bf16(static_cast<std::size_t>(n * 4 * 64), 11, 2.0f);
  const auto k = random_bf16(static_cast<std::size_t>(n * 2 * 64), 12, 2.0f);
  AttentionPlan plan;
  plan.mode = AttentionMode::XAttention;
  plan.block = 32;
  plan.stride = 16;
  const auto scores = xattention_block_scores(q.data(), k.data(), n, 4, 2, 64, plan);
  const int nb = static_cast<int>((n + plan.block - 1) / plan.block);
  for (const float tau : {0.5f, 0.9f, 0.95f}) expect_same_selection(scores, 4, nb, nb, tau);
}

}  // namespace
}  // namespace flux::engine::testing_gpu
