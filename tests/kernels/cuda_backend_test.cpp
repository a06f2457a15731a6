// Every elementwise, row and GEMM op of CudaBackend against CpuBackend on bf16-rounded random inputs, with NaN-poisoned
// outputs; plus the memory ops (exact) and the host-side id check of embed.
#include <gtest/gtest.h>

#include <algorithm>

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
        p.cpu->rope(cx, hd, pos0, theta);
        p.gpu->rope(gx, hd, pos0, theta);
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

}  // namespace
}  // namespace flux::engine::testing_gpu
