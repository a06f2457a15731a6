// Every elementwise, row and GEMM op of CudaBackend against CpuBackend on bf16-rounded random inputs, with NaN-poisoned
// outputs; plus the memory ops (exact) and the host-side id check of embed.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>

#include "engine/model/rope_frequencies.h"
#include "kernels/launch.h"
#include "tests/engine/routing/router_test_util.h"
#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {
namespace {

constexpr double kTol = 1e-2;

TEST(CudaBackend, NameAndDevice) {
  FLUX_REQUIRE_GPU();
  auto gpu = make_cuda_backend();
  EXPECT_EQ(gpu->name(), "cuda");
  EXPECT_FALSE(gpu->device_name().empty());
  EXPECT_EQ(gpu->bytes_per_element(), 2u);
}

// Chained launches need kernels whose code waits (sm_90+): on a 9.0 device running the sm_90a code they must be on
// (unless FLUX_PDL=0), on an older device off.
TEST(CudaBackend, ChainedLaunchesOnExactlyWhereTheKernelsWait) {
  FLUX_REQUIRE_GPU();
  const char* env = std::getenv("FLUX_PDL");
  const bool disabled = env != nullptr && std::string(env) == "0";
  int device = 0, major = 0;
  ASSERT_EQ(cudaGetDevice(&device), cudaSuccess);
  ASSERT_EQ(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), cudaSuccess);
  if (kernels::wgmma_prefill_available()) {
    EXPECT_EQ(kernels::chained_launches_active(), !disabled);
  }
  if (major < 9) {
    EXPECT_FALSE(kernels::chained_launches_active());
  }
  std::cout << "[metric] chained launches: " << (kernels::chained_launches_active() ? "on" : "off") << "\n";
}

TEST(CudaBackend, UploadDownloadRoundsToBf16AndViewsAndCopiesRows) {
  FLUX_REQUIRE_GPU();
  auto gpu = make_cuda_backend();
  const std::vector<float> host = random_bf16(37 * 24, 1);
  Tensor t = gpu->upload(host, 37, 24);
  EXPECT_EQ(fetch(*gpu, t), host);
  const std::vector<float> raw = {1.0f + 1.0f / 512, 3.14159f, -2.71828f, 1e-3f};
  std::vector<float> rounded;
  for (float x : raw) rounded.push_back(round_bf16(x));
  EXPECT_EQ(fetch(*gpu, gpu->upload(raw, 1, 4)), rounded);

  Tensor view = gpu->row_view(t, 5, 7);
  EXPECT_EQ(fetch(*gpu, view), std::vector<float>(host.begin() + 5 * 24, host.begin() + 12 * 24));
  Tensor dst = poisoned(*gpu, 10, 24);
  gpu->write_rows(dst, 0, gpu->row_view(t, 0, 4));
  gpu->copy_rows(t, 30, dst, 4, 6);
  std::vector<float> want(host.begin(), host.begin() + 4 * 24);
  want.insert(want.end(), host.begin() + 30 * 24, host.begin() + 36 * 24);
  EXPECT_EQ(fetch(*gpu, dst), want);
  // Overlapping copy inside one tensor behaves like memmove.
  Tensor same = gpu->upload(host, 37, 24);
  gpu->copy_rows(same, 0, same, 2, 10);
  const std::vector<float> moved = fetch(*gpu, same);
  EXPECT_TRUE(std::equal(host.begin(), host.begin() + 10 * 24, moved.begin() + 2 * 24));
}

TEST(CudaBackend, MatmulMatchesCpu) {
  FLUX_REQUIRE_GPU();
  BackendPair p;
  // n <= 4 with in % 8 == 0 take the GEMV kernel (kernels/gemv.cu), the rest cuBLASLt; {1, 60, 7} falls back.
  const int64_t shapes[][3] = {{1, 64, 96},   {37, 576, 192}, {100, 128, 1000}, {257, 64, 64}, {3, 1536, 576},
                               {1, 4096, 1000}, {2, 1536, 49}, {4, 576, 1536},  {1, 60, 7},    {1, 12288, 33}};
  uint32_t seed = 10;
  for (const auto& s : shapes) {
    const auto x = random_bf16(static_cast<std::size_t>(s[0] * s[1]), seed++);
    const auto w = random_bf16(static_cast<std::size_t>(s[2] * s[1]), seed++);
    Tensor co = p.cpu->empty(s[0], s[2]), go = poisoned(*p.gpu, s[0], s[2]);
    p.cpu->matmul(p.cpu->upload(x, s[0], s[1]), p.cpu->upload(w, s[2], s[1]), co);
    p.gpu->matmul(p.gpu->upload(x, s[0], s[1]), p.gpu->upload(w, s[2], s[1]), go);
    EXPECT_LT(rel_err(fetch(*p.gpu, go), fetch(*p.cpu, co)), kTol) << s[0] << "x" << s[1] << "x" << s[2];
  }
}

// The fused decode forms (one GEMV launch each at n <= 4; composed ops otherwise) against the CPU backend's
// composition: y += x·Wᵀ, silu(x·Gᵀ) * (x·Uᵀ), and Q/K/V of different widths from one x.
TEST(CudaBackend, FusedMatmulFormsMatchCpu) {
  FLUX_REQUIRE_GPU();
  BackendPair p;
  const int64_t shapes[][3] = {{1, 576, 1536}, {3, 1536, 576}, {4, 64, 96}, {1, 4096, 1000}, {9, 128, 64}, {1, 60, 7}};
  uint32_t seed = 300;
  for (const auto& s : shapes) {
    const int64_t n = s[0], in = s[1], out = s[2];
    const auto x = random_bf16(static_cast<std::size_t>(n * in), seed++);
    const auto w = random_bf16(static_cast<std::size_t>(out * in), seed++);
    const auto w2 = random_bf16(static_cast<std::size_t>(out * in), seed++);
    const auto w3 = random_bf16(static_cast<std::size_t>((out / 2 + 1) * in), seed++);
    const auto y0 = random_bf16(static_cast<std::size_t>(n * out), seed++, 4.0f);
    const Tensor cx = p.cpu->upload(x, n, in), gx = p.gpu->upload(x, n, in);
    const Tensor cw = p.cpu->upload(w, out, in), gw = p.gpu->upload(w, out, in);
    const Tensor cw2 = p.cpu->upload(w2, out, in), gw2 = p.gpu->upload(w2, out, in);
    const Tensor cw3 = p.cpu->upload(w3, out / 2 + 1, in), gw3 = p.gpu->upload(w3, out / 2 + 1, in);
    const std::string shape = std::to_string(n) + "x" + std::to_string(in) + "x" + std::to_string(out);

    Tensor cy = p.cpu->upload(y0, n, out), gy = p.gpu->upload(y0, n, out);
    p.cpu->matmul_add(cx, cw, cy);
    p.gpu->matmul_add(gx, gw, gy);
    EXPECT_LT(rel_err(fetch(*p.gpu, gy), fetch(*p.cpu, cy)), kTol) << "matmul_add " << shape;

    Tensor ca = p.cpu->empty(n, out), ga = poisoned(*p.gpu, n, out);
    p.cpu->matmul_swiglu(cx, cw, cw2, ca);
    p.gpu->matmul_swiglu(gx, gw, gw2, ga);
    EXPECT_LT(rel_err(fetch(*p.gpu, ga), fetch(*p.cpu, ca)), kTol) << "matmul_swiglu " << shape;

    Tensor cq = p.cpu->empty(n, out), ck = p.cpu->empty(n, out), cv = p.cpu->empty(n, out / 2 + 1);
    Tensor gq = poisoned(*p.gpu, n, out), gk = poisoned(*p.gpu, n, out), gv = poisoned(*p.gpu, n, out / 2 + 1);
    p.cpu->matmul_qkv(cx, cw, cw2, cw3, cq, ck, cv);
    p.gpu->matmul_qkv(gx, gw, gw2, gw3, gq, gk, gv);
    EXPECT_LT(rel_err(fetch(*p.gpu, gq), fetch(*p.cpu, cq)), kTol) << "q " << shape;
    EXPECT_LT(rel_err(fetch(*p.gpu, gk), fetch(*p.cpu, ck)), kTol) << "k " << shape;
    EXPECT_LT(rel_err(fetch(*p.gpu, gv), fetch(*p.cpu, cv)), kTol) << "v " << shape;
  }
  Tensor bad = p.gpu->empty(1, 7);
  EXPECT_THROW(p.gpu->matmul_add(p.gpu->empty(1, 64), p.gpu->empty(7, 32), bad), Error);
}

TEST(CudaBackend, RmsNormAndHeadRmsNormMatchCpu) {
  FLUX_REQUIRE_GPU();
  BackendPair p;
  const int64_t shapes[][2] = {{1, 64}, {33, 576}, {130, 1000}};
  uint32_t seed = 20;
  for (const auto& s : shapes) {
    const auto x = random_bf16(static_cast<std::size_t>(s[0] * s[1]), seed++, 3.0f);
    const auto w = random_bf16(static_cast<std::size_t>(s[1]), seed++);
    Tensor co = p.cpu->empty(s[0], s[1]), go = poisoned(*p.gpu, s[0], s[1]);
    p.cpu->rms_norm(p.cpu->upload(x, s[0], s[1]), p.cpu->upload(w, 1, s[1]), 1e-5f, co);
    p.gpu->rms_norm(p.gpu->upload(x, s[0], s[1]), p.gpu->upload(w, 1, s[1]), 1e-5f, go);
    EXPECT_LT(rel_err(fetch(*p.gpu, go), fetch(*p.cpu, co)), kTol) << s[0] << "x" << s[1];
  }
  for (const int hd : {16, 64, 128}) {
    const int64_t rows = 7, cols = 3 * hd;
    const auto x = random_bf16(static_cast<std::size_t>(rows * cols), seed++, 2.0f);
    const auto w = random_bf16(static_cast<std::size_t>(hd), seed++);
    Tensor cx = p.cpu->upload(x, rows, cols), gx = p.gpu->upload(x, rows, cols);
    p.cpu->head_rms_norm(cx, p.cpu->upload(w, 1, hd), hd, 1e-6f);
    p.gpu->head_rms_norm(gx, p.gpu->upload(w, 1, hd), hd, 1e-6f);
    EXPECT_LT(rel_err(fetch(*p.gpu, gx), fetch(*p.cpu, cx)), kTol) << "head_dim " << hd;
  }
}

TEST(CudaBackend, AddBiasAddSwigluMatchCpu) {
  FLUX_REQUIRE_GPU();
  BackendPair p;
  const int64_t rows = 33, cols = 100;
  const auto a = random_bf16(rows * cols, 30, 4.0f), b = random_bf16(rows * cols, 31, 4.0f);
  const auto bias = random_bf16(cols, 32);
  Tensor ca = p.cpu->upload(a, rows, cols), ga = p.gpu->upload(a, rows, cols);
  p.cpu->add_bias(ca, p.cpu->upload(bias, 1, cols));
  p.gpu->add_bias(ga, p.gpu->upload(bias, 1, cols));
  EXPECT_LT(rel_err(fetch(*p.gpu, ga), fetch(*p.cpu, ca)), kTol) << "add_bias";
  p.cpu->add(ca, p.cpu->upload(b, rows, cols));
  p.gpu->add(ga, p.gpu->upload(b, rows, cols));
  EXPECT_LT(rel_err(fetch(*p.gpu, ga), fetch(*p.cpu, ca)), kTol) << "add";
  Tensor co = p.cpu->empty(rows, cols), go = poisoned(*p.gpu, rows, cols);
  p.cpu->swiglu(p.cpu->upload(a, rows, cols), p.cpu->upload(b, rows, cols), co);
  p.gpu->swiglu(p.gpu->upload(a, rows, cols), p.gpu->upload(b, rows, cols), go);
  EXPECT_LT(rel_err(fetch(*p.gpu, go), fetch(*p.cpu, co)), kTol) << "swiglu";
  Tensor gi = p.gpu->upload(a, rows, cols);  // in place, as the decoder calls it
  p.gpu->swiglu(gi, p.gpu->upload(b, rows, cols), gi);
  EXPECT_LT(rel_err(fetch(*p.gpu, gi), fetch(*p.cpu, co)), kTol) << "swiglu in place";
}

TEST(CudaBackend, RopeMatchesCpu) {
  FLUX_REQUIRE_GPU();
  BackendPair p;
  uint32_t seed = 40;
  for (const int hd : {16, 64, 128}) {
    for (const int64_t pos0 : {int64_t{0}, int64_t{1000}, int64_t{70000}}) {
      for (const float theta : {10000.0f, 1000000.0f}) {
        const int64_t rows = 65, cols = 3 * hd;
        const auto x = random_bf16(static_cast<std::size_t>(rows * cols), seed++);
        Tensor cx = p.cpu->upload(x, rows, cols), gx = p.gpu->upload(x, rows, cols);
        const RopeTable rope = rope_frequencies(hd, theta, RopeScaling{});
        p.cpu->rope(cx, pos0, rope);
        p.gpu->rope(gx, pos0, rope);
        EXPECT_LT(rel_err(fetch(*p.gpu, gx), fetch(*p.cpu, cx)), kTol) << hd << " " << pos0 << " " << theta;
      }
    }
  }
}

TEST(CudaBackend, EmbedMatchesCpuAndRejectsBadIds) {
  FLUX_REQUIRE_GPU();
  BackendPair p;
  const int64_t vocab = 300, cols = 72;
  const auto table = random_bf16(vocab * cols, 50);
  const std::vector<int32_t> ids = {0, 299, 17, 17, 150};
  Tensor gt = p.gpu->upload(table, vocab, cols), ct = p.cpu->upload(table, vocab, cols);
  Tensor co = p.cpu->empty(5, cols), go = poisoned(*p.gpu, 5, cols);
  p.cpu->embed(ct, ids, co);
  p.gpu->embed(gt, ids, go);
  EXPECT_EQ(fetch(*p.gpu, go), fetch(*p.cpu, co));
  const std::vector<int32_t> bad = {3, 300};
  Tensor bo = p.gpu->empty(2, cols);
  EXPECT_THROW(p.gpu->embed(gt, bad, bo), Error);
  const std::vector<int32_t> negative = {-1};
  Tensor no = p.gpu->empty(1, cols);
  EXPECT_THROW(p.gpu->embed(gt, negative, no), Error);
  p.gpu->synchronize();  // the backend stays usable after a rejected call
}

TEST(CudaBackend, TimingMarksMeasureNonNegativeTime) {
  FLUX_REQUIRE_GPU();
  auto gpu = make_cuda_backend();
  const TimeMark a = gpu->mark();
  Tensor x = gpu->upload(random_bf16(256 * 256, 60), 256, 256);
  Tensor y = gpu->empty(256, 256);
  gpu->matmul(x, x, y);
  const TimeMark b = gpu->mark();
  EXPECT_GE(gpu->elapsed_ms(a, b), 0.0);
}

// The router's boundary pooling on the device: column means over row ranges, against the host (double) sums.
TEST(CudaBackend, MeanOfRowsMatchesTheHostPooling) {
  FLUX_REQUIRE_GPU();
  BackendPair p;
  const int64_t rows = 300, cols = 200;
  const auto x = random_bf16(static_cast<std::size_t>(rows * cols), 77, 3.0f);
  const Tensor cx = p.cpu->upload(x, rows, cols), gx = p.gpu->upload(x, rows, cols);
  const std::vector<std::vector<RowRange>> cases = {{{0, 100}, {200, 300}}, {{0, 300}}, {{7, 8}}, {{0, 0}, {5, 9}}};
  for (const auto& ranges : cases) {
    const std::vector<float> want = p.cpu->mean_of_rows(cx, ranges);
    const std::vector<float> got = p.gpu->mean_of_rows(gx, ranges);
    ASSERT_EQ(got.size(), static_cast<std::size_t>(cols));
    EXPECT_LT(rel_err(got, want), 1e-5) << ranges.size() << " ranges, first [" << ranges[0].begin << ", "
                                        << ranges[0].end << ")";
  }
  EXPECT_THROW(p.gpu->mean_of_rows(gx, std::vector<RowRange>{{290, 301}}), Error);
}

// The router's pooling + MLP on the device against the CPU backend's host path: fp32 weights, bf16 keys that both
// backends hold exactly, so only the summation order differs. 9 heads exercise a second pass of the row registers.
TEST(CudaBackend, RouterPooledMlpMatchesTheHostPath) {
  FLUX_REQUIRE_GPU();
  BackendPair p;
  struct Shape {
    int heads, dim;
    int64_t rows;
  };
  for (const Shape s : {Shape{3, 64, 300}, Shape{8, 128, 1000}, Shape{9, 32, 50}}) {
    const LayerRouter router = test::make_router(1, s.heads, s.dim);
    const auto keys = random_bf16(static_cast<std::size_t>(s.rows * s.heads * s.dim), 91, 2.0f);
    const int64_t cols = int64_t{s.heads} * s.dim;
    const std::vector<RowRange> ranges = pooling_rows(router.config(), s.rows);
    const auto want = p.cpu->pooled_mlp(p.cpu->upload(keys, s.rows, cols), ranges, router.mlp(0));
    const Tensor gk = p.gpu->upload(keys, s.rows, cols);
    const auto got = p.gpu->pooled_mlp(gk, ranges, router.mlp(0));
    ASSERT_EQ(got.out.size(), static_cast<std::size_t>(s.heads));
    EXPECT_LT(rel_err(got.out, want.out), 1e-4) << s.heads << " heads of " << s.dim;
    EXPECT_GT(got.compute_ms, 0.0);
    // A second call reuses the uploaded weights and gives the same logits.
    EXPECT_EQ(p.gpu->pooled_mlp(gk, ranges, router.mlp(0)).out, got.out);
  }
}

// The router in one cooperative launch (kernels/router_fused.cu) against its composed kernels (FLUX_ROUTER_FUSED=0):
// the Linears' arithmetic is shared, only the pooling's order of adds differs. Pooled rows from ~1 to ~20 per warp
// of the grid, an empty range among them, 9 rows (a second pass of the row registers), x of 64 to 1024 columns.
// The route table's slot holds the same outputs as pooled_mlp (same kernel, same bits) and the decision the host
// rule takes on them; thresholds 0 and 1 force both decisions.
TEST(CudaBackend, FusedRouterMatchesTheComposedKernels) {
  FLUX_REQUIRE_GPU();
  std::unique_ptr<Backend> fused = make_cuda_backend();
  setenv("FLUX_ROUTER_FUSED", "0", 1);
  std::unique_ptr<Backend> composed = make_cuda_backend();
  unsetenv("FLUX_ROUTER_FUSED");
  struct Shape {
    int heads, dim;
    int64_t rows;
  };
  for (const Shape s : {Shape{3, 64, 5000}, Shape{8, 128, 700}, Shape{9, 32, 50}, Shape{1, 64, 1}}) {
    const LayerRouter router = test::make_router(1, s.heads, s.dim);
    const int64_t cols = int64_t{s.heads} * s.dim;
    const auto keys = random_bf16(static_cast<std::size_t>(s.rows * cols), 93, 2.0f);
    const std::vector<RowRange> pooled = pooling_rows(router.config(), s.rows);
    std::vector<RowRange> ranges(pooled.size() + 1);  // an empty range first, then the router's
    std::copy(pooled.begin(), pooled.end(), ranges.begin() + 1);
    const std::string what =
        std::to_string(s.heads) + " heads of " + std::to_string(s.dim) + ", " + std::to_string(s.rows) + " rows";
    const Tensor fk = fused->upload(keys, s.rows, cols), ck = composed->upload(keys, s.rows, cols);
    const auto got = fused->pooled_mlp(fk, ranges, router.mlp(0));
    const auto want = composed->pooled_mlp(ck, ranges, router.mlp(0));
    ASSERT_EQ(got.out.size(), static_cast<std::size_t>(s.heads)) << what;
    EXPECT_LT(rel_err(got.out, want.out), 1e-5) << what;
    EXPECT_EQ(fused->pooled_mlp(fk, ranges, router.mlp(0)).out, got.out) << what;  // the kept scratch, reused

    Backend::RouteTable table = fused->make_route_table(3);
    const float thresholds[] = {0.0f, 1.0f, 0.5f};
    for (int slot = 0; slot < 3; ++slot) {
      const TimeSpan span = fused->route_on_device(fk, ranges, router.mlp(0), Backend::RouteRule::ElasticMean,
                                                   router.config().temperature, thresholds[slot], table, slot);
      EXPECT_GE(fused->elapsed_ms(span.start, span.end), 0.0) << what;
    }
    const std::vector<Backend::RoutedSlot> slots = fused->read_route_table(table);
    ASSERT_EQ(slots.size(), 3u) << what;
    for (int slot = 0; slot < 3; ++slot) {
      const Backend::RoutedSlot& r = slots[static_cast<std::size_t>(slot)];
      EXPECT_EQ(r.out, got.out) << what << " slot " << slot;
      const RouterDecision d = router.decide_logits(r.out);
      EXPECT_EQ(r.sa, decide_layer(d.score, thresholds[slot]) == LayerMode::SA) << what << " slot " << slot;
    }
    EXPECT_TRUE(slots[0].sa) << what;  // Elastic scores SA: P > 0 always wins, P > 1 never
    EXPECT_FALSE(slots[1].sa) << what;
  }
}

}  // namespace
}  // namespace flux::engine::testing_gpu
