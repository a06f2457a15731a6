// The prefill attention kernels one by one (kernels/launch.h, below the Backend seam): the Hopper wgmma kernel and the
// mma.sync kernel each against a float64 reference computed on the host from attention_plan.h's mask_allows, on
// sampled rows of prompts that are not block multiples, in FA, streaming and triangle (block-form and token-exact edges), from the first query and from a
// later chunk (q_pos0 > 0), head dims 64 and 128. Outputs start as NaN, so rows a kernel never writes fail.
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/attention/attention_plan.h"
#include "kernels/launch.h"
#include "tests/kernels/device_buffer.h"
#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {
namespace {

struct KernelCase {
  AttentionMode mode;
  int64_t n, q_pos0;
  int head_dim;
};

constexpr int kHeads = 8, kKvHeads = 2;  // the Qwen3-8B ratio

// Rows of queries [q_pos0, n) the host reference checks: a stride through the chunk plus its first and last rows.
std::vector<int64_t> sampled_rows(int64_t q_pos0, int64_t n) {
  std::vector<int64_t> rows;
  for (int64_t i = q_pos0; i < n; i += 37) rows.push_back(i);
  for (int64_t i = std::max(q_pos0, n - 3); i < n; ++i) rows.push_back(i);
  return rows;
}

// out[i, h, :] in float64 for one query row i (absolute position) and head h.
std::vector<double> reference_row(const KernelCase& c, const AttentionPlan& plan, const std::vector<float>& q,
                                  const std::vector<float>& k, const std::vector<float>& v, int64_t i, int h) {
  const int d = c.head_dim, g = h / (kHeads / kKvHeads);
  const float* qi = &q[static_cast<std::size_t>(((i - c.q_pos0) * kHeads + h) * d)];
  std::vector<double> logits(static_cast<std::size_t>(c.n), -INFINITY);
  double mx = -INFINITY;
  for (int64_t j = 0; j < c.n; ++j) {
    if (!mask_allows(plan, c.n, i, j)) continue;
    const float* kj = &k[static_cast<std::size_t>((j * kKvHeads + g) * d)];
    double dot = 0.0;
    for (int x = 0; x < d; ++x) dot += static_cast<double>(qi[x]) * kj[x];
    logits[static_cast<std::size_t>(j)] = dot / std::sqrt(static_cast<double>(d));
    mx = std::max(mx, logits[static_cast<std::size_t>(j)]);
  }
  std::vector<double> out(static_cast<std::size_t>(d), 0.0);
  double sum = 0.0;
  for (int64_t j = 0; j < c.n; ++j) {
    if (logits[static_cast<std::size_t>(j)] == -INFINITY) continue;
    const double p = std::exp(logits[static_cast<std::size_t>(j)] - mx);
    sum += p;
    const float* vj = &v[static_cast<std::size_t>((j * kKvHeads + g) * d)];
    for (int x = 0; x < d; ++x) out[static_cast<std::size_t>(x)] += p * vj[x];
  }
  for (double& x : out) x /= sum;
  return out;
}

using Launcher = bool (*)(const kernels::PrefillArgs&, cudaStream_t);

class CudaPrefillKernels : public ::testing::TestWithParam<std::tuple<AttentionMode, int64_t, bool, int>> {};

TEST_P(CudaPrefillKernels, TensorCoreKernelsMatchFloat64) {
  FLUX_REQUIRE_GPU();
  const auto [mode, n, chunked, d] = GetParam();
  const KernelCase c{mode, n, chunked ? n / 2 + 3 : 0, d};
  AttentionPlan plan;
  plan.mode = mode;
  plan.block = 128;
  plan.sink = 128;
  plan.window = 384;
  plan.n_last = 100;
  plan.token_exact = n % 2 == 1;  // odd n: token-exact streaming edges
  const int64_t n_q = c.n - c.q_pos0;
  const auto q = random_bf16(static_cast<std::size_t>(n_q * kHeads * d), static_cast<uint32_t>(n + d), 2.0f);
  const auto k = random_bf16(static_cast<std::size_t>(c.n * kKvHeads * d), static_cast<uint32_t>(n + d + 1), 2.0f);
  const auto v = random_bf16(static_cast<std::size_t>(c.n * kKvHeads * d), static_cast<uint32_t>(n + d + 2));
  const auto dq = upload_bf16(q), dk = upload_bf16(k), dv = upload_bf16(v);
  const BlockLists lists = build_block_lists(plan, c.n);
  DeviceBuffer<int32_t> offsets(lists.offsets.size()), blocks(lists.kv_blocks.size());
  ASSERT_EQ(cudaMemcpy(offsets.ptr, lists.offsets.data(), lists.offsets.size() * 4, cudaMemcpyHostToDevice),
            cudaSuccess);
  ASSERT_EQ(cudaMemcpy(blocks.ptr, lists.kv_blocks.data(), lists.kv_blocks.size() * 4, cudaMemcpyHostToDevice),
            cudaSuccess);
  const std::size_t out_elems = static_cast<std::size_t>(n_q * kHeads * d);
  DeviceBuffer<__nv_bfloat16> out(out_elems);

  kernels::PrefillArgs a;
  a.q = dq->ptr;
  a.k = dk->ptr;
  a.v = dv->ptr;
  a.out = out.ptr;
  a.offsets = offsets.ptr;
  a.kv_blocks = blocks.ptr;
  a.n_q = n_q;
  a.q_pos0 = c.q_pos0;
  a.n_kv = c.n;
  a.n_heads = kHeads;
  a.n_kv_heads = kKvHeads;
  a.head_dim = d;
  a.list_heads = lists.n_heads;
  a.n_q_blocks = lists.n_q_blocks;
  a.scale = 1.0f / std::sqrt(static_cast<float>(d));
  a.mask.mode = static_cast<int>(mode);
  a.mask.block = plan.block;
  a.mask.sink = plan.sink;
  a.mask.window = plan.window;
  a.mask.n_last = plan.n_last;
  a.mask.token_exact = plan.token_exact ? 1 : 0;
  a.mask.n_tokens = c.n;

  std::vector<std::vector<double>> ref;
  const std::vector<int64_t> rows = sampled_rows(c.q_pos0, c.n);
  for (const int64_t i : rows) {
    for (int h = 0; h < kHeads; ++h) ref.push_back(reference_row(c, plan, q, k, v, i, h));
  }
  const bool hopper = kernels::wgmma_prefill_available();
  std::cout << "[metric] wgmma prefill available: " << (hopper ? "yes" : "no (not an sm_90a build on a 9.0 device)")
            << "\n";
  const std::pair<const char*, Launcher> kernels_under_test[] = {{"wgmma", kernels::launch_attention_prefill_wgmma},
                                                                 {"mma", kernels::launch_attention_prefill_mma}};
  for (const auto& [name, launch] : kernels_under_test) {
    ASSERT_EQ(cudaMemset(out.ptr, 0xff, out_elems * 2), cudaSuccess);  // bf16 0xffff is NaN
    const bool launched = launch(a, nullptr);
    if (std::string(name) == "wgmma") {
      ASSERT_EQ(launched, hopper) << "the wgmma kernel must run exactly where it is available";
      if (!launched) continue;
    } else {
      ASSERT_TRUE(launched);
    }
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess) << name;
    const auto got = download(out.ptr, out_elems);
    double diff = 0.0, norm = 0.0;
    std::size_t at = 0;
    for (const int64_t i : rows) {
      for (int h = 0; h < kHeads; ++h, ++at) {
        for (int x = 0; x < d; ++x) {
          const double g = __bfloat162float(got[static_cast<std::size_t>(((i - c.q_pos0) * kHeads + h) * d + x)]);
          diff += (g - ref[at][static_cast<std::size_t>(x)]) * (g - ref[at][static_cast<std::size_t>(x)]);
          norm += ref[at][static_cast<std::size_t>(x)] * ref[at][static_cast<std::size_t>(x)];
        }
      }
    }
    std::size_t nans = 0;
    for (const auto& x : got) nans += std::isnan(__bfloat162float(x)) ? 1 : 0;
    const double err = std::sqrt(diff / norm);
    EXPECT_EQ(nans, 0u) << name << ": elements never written";
    EXPECT_LT(err, 1e-2) << name << " " << attention_mode_name(mode) << " n " << n << " q_pos0 " << c.q_pos0 << " d "
                         << d;
    std::cout << "[metric] " << name << " " << attention_mode_name(mode) << " n=" << n << " q_pos0=" << c.q_pos0
              << " d=" << d << " rel_err=" << err << "\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, CudaPrefillKernels,
                         ::testing::Combine(::testing::Values(AttentionMode::Full, AttentionMode::Streaming,
                                                              AttentionMode::Triangle),
                                            ::testing::Values(int64_t{100}, int64_t{1000}, int64_t{2049}),
                                            ::testing::Bool(), ::testing::Values(64, 128)));

}  // namespace
}  // namespace flux::engine::testing_gpu
