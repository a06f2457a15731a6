// CudaBackend attention against CpuBackend: prefill under every mode (small blocks, sink and window so sparsity and the
// element mask at partly allowed blocks are exercised), GQA 1/3/4, head dims 64 and 128, chunked prefill (q_pos0 > 0),
// and split-KV decode over short and long caches. XAttention's recorded selection (AttentionStats::mask, downloaded
// from the device lists) equals the CPU backend's cell by cell on the same inputs.
#include <gtest/gtest.h>

#include <iostream>
#include <tuple>

#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {
namespace {

constexpr double kTol = 1e-2;

struct PrefillCase {
  AttentionMode mode;
  int64_t n;
  int group;  // query heads per kv head
  int head_dim;
};

AttentionPlan plan_for(const PrefillCase& c, int variant) {
  AttentionPlan plan;
  plan.mode = c.mode;
  plan.block = (variant % 3 == 0) ? 16 : (variant % 3 == 1 ? 32 : 64);
  plan.stride = 8;
  plan.sink = 16;
  plan.window = 48;
  plan.n_last = 40;
  plan.threshold = 0.9f;
  plan.token_exact = c.n % 2 == 1;  // odd n: token-exact streaming edges
  return plan;
}

// Runs one prefill of queries [q_pos0, n) against keys [0, n) on both backends; returns the relative error.
double run_prefill(BackendPair& p, const PrefillCase& c, const AttentionPlan& plan, int64_t q_pos0, uint32_t seed,
                   double* gpu_density = nullptr, double* cpu_density = nullptr) {
  const int n_kv_heads = c.group == 1 ? 3 : 2, n_heads = n_kv_heads * c.group, d = c.head_dim;
  const int64_t n_q = c.n - q_pos0;
  const auto q = random_bf16(static_cast<std::size_t>(n_q * n_heads * d), seed, 2.0f);
  const auto k = random_bf16(static_cast<std::size_t>(c.n * n_kv_heads * d), seed + 1, 2.0f);
  const auto v = random_bf16(static_cast<std::size_t>(c.n * n_kv_heads * d), seed + 2);
  Tensor co = p.cpu->empty(n_q, int64_t{n_heads} * d), go = poisoned(*p.gpu, n_q, int64_t{n_heads} * d);
  const AttentionStats cs = p.cpu->attention_prefill(
      p.cpu->upload(q, n_q, n_heads * d), p.cpu->upload(k, c.n, n_kv_heads * d), p.cpu->upload(v, c.n, n_kv_heads * d),
      q_pos0, c.n, n_heads, n_kv_heads, d, plan, co, true);
  const AttentionStats gs = p.gpu->attention_prefill(
      p.gpu->upload(q, n_q, n_heads * d), p.gpu->upload(k, c.n, n_kv_heads * d), p.gpu->upload(v, c.n, n_kv_heads * d),
      q_pos0, c.n, n_heads, n_kv_heads, d, plan, go, true);
  // Only XAttention records a mask (static kinds rebuild theirs from the plan); the same scores select the same cells.
  EXPECT_EQ(gs.mask != nullptr, plan.mode == AttentionMode::XAttention);
  EXPECT_EQ(cs.mask != nullptr, plan.mode == AttentionMode::XAttention);
  if (gs.mask && cs.mask) {
    const BlockMask gm = gs.mask(), cm = cs.mask();
    EXPECT_EQ(gm.n_heads, n_heads);
    EXPECT_DOUBLE_EQ(gm.density(), gs.density);
    EXPECT_EQ(gm, cm) << "XAttention selection, n " << c.n << " block " << plan.block;
  }
  if (gpu_density) *gpu_density = gs.density;
  if (cpu_density) *cpu_density = cs.density;
  return rel_err(fetch(*p.gpu, go), fetch(*p.cpu, co));
}

class CudaPrefill : public ::testing::TestWithParam<std::tuple<AttentionMode, int64_t, int, int>> {};

TEST_P(CudaPrefill, MatchesCpu) {
  FLUX_REQUIRE_GPU();
  const auto [mode, n, group, d] = GetParam();
  const PrefillCase c{mode, n, group, d};
  BackendPair p;
  for (int variant = 0; variant < 3; ++variant) {
    const AttentionPlan plan = plan_for(c, variant);
    double gd = 0.0, cd = 0.0;
    const double err = run_prefill(p, c, plan, 0, static_cast<uint32_t>(n * 7 + group * 3 + d + variant), &gd, &cd);
    EXPECT_LT(err, kTol) << attention_mode_name(mode) << " n " << n << " group " << group << " d " << d << " block "
                         << plan.block;
    EXPECT_DOUBLE_EQ(gd, cd) << "density, block " << plan.block;
    std::cout << "[metric] prefill " << attention_mode_name(mode) << " n=" << n << " g=" << group << " d=" << d
              << " block=" << plan.block << " density=" << gd << " rel_err=" << err << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Grid, CudaPrefill,
                         ::testing::Combine(::testing::Values(AttentionMode::Full, AttentionMode::Streaming,
                                                              AttentionMode::Triangle, AttentionMode::XAttention),
                                            ::testing::Values(int64_t{1}, int64_t{100}, int64_t{257}, int64_t{1000}),
                                            ::testing::Values(1, 3, 4), ::testing::Values(64, 128)));

// Production-sized blocks (64, 128: the tensor-core kernel's 4- and 8-warp tiles) on longer prompts that are not
// block multiples, the Qwen3-8B head ratio (4 q heads per kv head) and both head dims; sink 128 / window 256 so
// streaming and triangle lists are sparse and have block-form and token-exact (odd n) edges.
class CudaPrefillLong : public ::testing::TestWithParam<std::tuple<AttentionMode, int64_t, int, int>> {};

TEST_P(CudaPrefillLong, MatchesCpu) {
  FLUX_REQUIRE_GPU();
  const auto [mode, n, block, d] = GetParam();
  const PrefillCase c{mode, n, 4, d};
  AttentionPlan plan;
  plan.mode = mode;
  plan.block = block;
  plan.sink = 128;
  plan.window = 256;
  plan.n_last = 200;
  plan.stride = 16;
  plan.token_exact = n % 2 == 1;
  BackendPair p;
  double gd = 0.0, cd = 0.0;
  const double err = run_prefill(p, c, plan, 0, static_cast<uint32_t>(n + block + d), &gd, &cd);
  EXPECT_LT(err, kTol) << attention_mode_name(mode) << " n " << n << " d " << d << " block " << block;
  EXPECT_DOUBLE_EQ(gd, cd) << "density";
  std::cout << "[metric] prefill-long " << attention_mode_name(mode) << " n=" << n << " d=" << d << " block=" << block
            << " density=" << gd << " rel_err=" << err << "\n";
  if (mode != AttentionMode::XAttention) {  // chunked: the second half of the prompt against all keys
    const double chunk_err = run_prefill(p, c, plan, n / 2 + 3, static_cast<uint32_t>(n + 5));
    EXPECT_LT(chunk_err, kTol) << "chunked, q_pos0 " << n / 2 + 3;
  }
}

INSTANTIATE_TEST_SUITE_P(Blocks, CudaPrefillLong,
                         ::testing::Combine(::testing::Values(AttentionMode::Full, AttentionMode::Streaming,
                                                              AttentionMode::Triangle, AttentionMode::XAttention),
                                            ::testing::Values(int64_t{1000}, int64_t{2100}, int64_t{2049}),
                                            ::testing::Values(64, 128), ::testing::Values(64, 128)));

// Chunked prefill: the last rows of a prompt attend to the keys already cached (Full, Streaming, Triangle).
TEST(CudaPrefillChunked, LaterChunkMatchesCpu) {
  FLUX_REQUIRE_GPU();
  BackendPair p;
  for (const AttentionMode mode : {AttentionMode::Full, AttentionMode::Streaming, AttentionMode::Triangle}) {
    for (const int64_t q_pos0 : {int64_t{1}, int64_t{200}, int64_t{299}}) {
      const PrefillCase c{mode, 300, 4, 64};
      const double err = run_prefill(p, c, plan_for(c, static_cast<int>(q_pos0)), q_pos0, 900 + q_pos0);
      EXPECT_LT(err, kTol) << attention_mode_name(mode) << " q_pos0 " << q_pos0;
    }
  }
}

TEST(CudaPrefill, RejectsUnsupportedHeadDimWithError) {
  FLUX_REQUIRE_GPU();
  auto gpu = make_cuda_backend();
  Tensor q = gpu->empty(4, 2 * 48), kv = gpu->empty(4, 2 * 48), out = gpu->empty(4, 2 * 48);
  EXPECT_THROW(gpu->attention_prefill(q, kv, kv, 0, 4, 2, 2, 48, AttentionPlan{}, out, false), Error);
}

class CudaDecode : public ::testing::TestWithParam<std::tuple<int64_t, int, int>> {};

TEST_P(CudaDecode, MatchesCpu) {
  FLUX_REQUIRE_GPU();
  const auto [n_slots, group, d] = GetParam();
  BackendPair p;
  const int n_kv_heads = 2, n_heads = n_kv_heads * group;
  const int64_t rows = n_slots + 3;  // the cache holds more rows than are in use
  const uint32_t seed = static_cast<uint32_t>(n_slots + group * 11 + d);
  const auto q = random_bf16(static_cast<std::size_t>(n_heads * d), seed, 2.0f);
  const auto k = random_bf16(static_cast<std::size_t>(rows * n_kv_heads * d), seed + 1, 2.0f);
  const auto v = random_bf16(static_cast<std::size_t>(rows * n_kv_heads * d), seed + 2);
  Tensor co = p.cpu->empty(1, int64_t{n_heads} * d), go = poisoned(*p.gpu, 1, int64_t{n_heads} * d);
  p.cpu->attention_decode(p.cpu->upload(q, 1, n_heads * d), p.cpu->upload(k, rows, n_kv_heads * d),
                          p.cpu->upload(v, rows, n_kv_heads * d), n_slots, n_heads, n_kv_heads, d, co);
  p.gpu->attention_decode(p.gpu->upload(q, 1, n_heads * d), p.gpu->upload(k, rows, n_kv_heads * d),
                          p.gpu->upload(v, rows, n_kv_heads * d), n_slots, n_heads, n_kv_heads, d, go);
  const double err = rel_err(fetch(*p.gpu, go), fetch(*p.cpu, co));
  EXPECT_LT(err, kTol) << "n_slots " << n_slots << " group " << group << " d " << d;
  std::cout << "[metric] decode n=" << n_slots << " g=" << group << " d=" << d << " rel_err=" << err << "\n";
}

INSTANTIATE_TEST_SUITE_P(Grid, CudaDecode,
                         ::testing::Combine(::testing::Values(int64_t{1}, int64_t{100}, int64_t{257}, int64_t{1000},
                                                              int64_t{5000}),
                                            ::testing::Values(1, 3, 4, 6, 12), ::testing::Values(16, 32, 64, 128)));
// Long enough that the run-time split size (kernels/attention_decode_split.cuh) exceeds the shortest split and is not
// a multiple of it, for the tensor-core (group 4) and the CUDA-core (group 12) stage 1.
INSTANTIATE_TEST_SUITE_P(LongCache, CudaDecode,
                         ::testing::Combine(::testing::Values(int64_t{70001}), ::testing::Values(4, 12),
                                            ::testing::Values(64, 128)));

}  // namespace
}  // namespace flux::engine::testing_gpu
