// The int8 prefill GEMM (cpu/int8_gemm.h) against the exact product of what it multiplies (Q8-rounded activations,
// dequantized weights, in double) and against the Q8 GEMV path, for every weight kind it takes, one and two
// activation levels, and shapes with tails everywhere (output rows not a multiple of the 16-row panel, activation
// rows not a multiple of the 8-row tile or the 128-row chunk). Below AVX-512 VNNI a forced Int8 path must fall back
// to the dequantized tiles and give the fp32 product.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/backend/cpu/int8_gemm.h"
#include "engine/backend/cpu/q8_activations.h"
#include "engine/backend/cpu/quant_dot.h"
#include "engine/backend/cpu/weight_matmul.h"
#include "engine/backend/cpu_backend.h"
#include "engine/backend/random_blocks.h"
#include "engine/backend/weight_dtype.h"
#include "engine/format/ggml_quant.h"
#include "tests/engine/support/q8_rounded.h"

namespace flux::engine {
namespace {

using flux::test::q8_rounded;

using cpu::GemmPath;
using cpu::Isa;

constexpr StorageType kPackable[] = {StorageType::Q4_0, StorageType::Q4_1, StorageType::Q5_0, StorageType::Q5_1,
                                     StorageType::Q8_0, StorageType::Q4_K, StorageType::Q5_K, StorageType::Q6_K};

std::vector<float> uniform(std::size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(count);
  for (float& v : x) v = u(rng);
  return x;
}

class Int8Gemm : public ::testing::TestWithParam<StorageType> {
 protected:
  void TearDown() override {
    cpu::force_isa(std::nullopt);
    cpu::force_gemm_path(GemmPath::Auto);
    cpu::force_residual_activations(std::nullopt);
  }

  // y = x · wᵀ through the backend with `path` forced at `isa`.
  std::vector<float> product(CpuBackend& backend, const Tensor& xt, const Tensor& wt, Isa isa, GemmPath path) {
    cpu::force_isa(isa);
    cpu::force_gemm_path(path);
    Tensor out = backend.empty(xt.rows, wt.rows);
    backend.matmul(xt, wt, out);
    std::vector<float> y(static_cast<std::size_t>(xt.rows * wt.rows));
    backend.download(out, y);
    return y;
  }
};

TEST_P(Int8Gemm, EqualsTheExactProductOfWhatItMultipliesAtEveryIsaLevel) {
  const StorageType type = GetParam();
  const DType dtype = *dtype_for_storage(type);
  const bool k_quant = block_elems(type) == 256;
  CpuBackend backend(2);
  struct Shape {
    int64_t n, rows, cols;
  };
  for (const Shape s : {Shape{19, 45, k_quant ? 256 : 96}, Shape{300, 133, k_quant ? 512 : 160}}) {
    std::vector<std::byte> blocks(static_cast<std::size_t>(tensor_bytes(type, s.rows * s.cols)));
    fill_random_blocks(type, blocks, s.rows, s.cols, 0.05f, 41 + static_cast<uint64_t>(s.n));
    std::vector<float> wf(static_cast<std::size_t>(s.rows * s.cols));
    dequantize(type, blocks, wf);
    const Tensor wt = backend.upload_weight(type, blocks, s.rows, s.cols);
    ASSERT_EQ(wt.dtype, dtype);
    const std::vector<float> x = uniform(static_cast<std::size_t>(s.n * s.cols), 7 + static_cast<uint32_t>(s.rows));
    const Tensor xt = backend.upload(x, s.n, s.cols);
    for (const bool residual : {false, true}) {
      cpu::force_residual_activations(residual);
      const std::vector<float> xq = q8_rounded(x, s.cols, residual);
      for (const Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512Vnni}) {
        if (!cpu::isa_supported(isa)) continue;
        const bool int8 = isa == Isa::Avx512Vnni;
        cpu::force_isa(isa);
        ASSERT_EQ(cpu::int8_gemm_supports(dtype, isa), int8);
        ASSERT_EQ(cpu::gemm_path(dtype, s.n), int8 ? GemmPath::Int8 : GemmPath::DequantTile);
        const std::vector<float> y = product(backend, xt, wt, isa, GemmPath::Int8);
        for (int64_t r = 0; r < s.n; ++r)
          for (int64_t o = 0; o < s.rows; ++o) {
            double exact = 0, magnitude = 0;
            for (int64_t c = 0; c < s.cols; ++c) {
              const double wv = wf[static_cast<std::size_t>(o * s.cols + c)];
              const auto i = static_cast<std::size_t>(r * s.cols + c);
              exact += wv * (int8 ? xq[i] : x[i]);  // the fallback multiplies the fp32 activations
              magnitude += std::fabs(wv * x[i]);
            }
            ASSERT_NEAR(y[static_cast<std::size_t>(r * s.rows + o)], exact, 1e-5 * magnitude + 1e-7)
                << storage_type_name(type) << " " << cpu::isa_name(isa) << (residual ? " q8x2" : " q8") << " n=" << s.n
                << " row " << r << " out " << o;
          }
      }
    }
  }
}

// Same arithmetic as the Q8 GEMV path (one conversion and scale per block), so the two agree to fp32 rounding.
TEST_P(Int8Gemm, AgreesWithTheQ8GemvPath) {
  if (!cpu::isa_supported(Isa::Avx512Vnni)) GTEST_SKIP() << "no AVX-512 VNNI on this CPU";
  const StorageType type = GetParam();
  const int64_t n = 37, rows = 70, cols = 768;
  CpuBackend backend(2);
  std::vector<std::byte> blocks(static_cast<std::size_t>(tensor_bytes(type, rows * cols)));
  fill_random_blocks(type, blocks, rows, cols, 0.05f, 5);
  const Tensor wt = backend.upload_weight(type, blocks, rows, cols);
  const Tensor xt = backend.upload(uniform(static_cast<std::size_t>(n * cols), 9), n, cols);
  const std::vector<float> gemv = product(backend, xt, wt, Isa::Avx512Vnni, GemmPath::Q8);
  const std::vector<float> gemm = product(backend, xt, wt, Isa::Avx512Vnni, GemmPath::Int8);
  for (std::size_t i = 0; i < gemv.size(); ++i)
    ASSERT_NEAR(gemm[i], gemv[i], 1e-5 * (std::fabs(gemv[i]) + 1.0)) << storage_type_name(type) << " " << i;
  // o_proj / down_proj: the product added into the residual in place (the grouped call with accumulate).
  const std::vector<float> residual = uniform(gemv.size(), 13);
  Tensor sum = backend.upload(residual, n, rows);
  cpu::force_gemm_path(GemmPath::Int8);
  backend.matmul_add(xt, wt, sum);
  std::vector<float> got(gemv.size());
  backend.download(sum, got);
  for (std::size_t i = 0; i < gemv.size(); ++i)
    ASSERT_NEAR(got[i], residual[i] + gemv[i], 1e-5 * (std::fabs(gemv[i]) + 2.0)) << storage_type_name(type) << i;
}

INSTANTIATE_TEST_SUITE_P(PackableTypes, Int8Gemm, ::testing::ValuesIn(kPackable),
                         [](const ::testing::TestParamInfo<StorageType>& p) {
                           return std::string(storage_type_name(p.param));
                         });

// 16-bit weights have no int8 panels: a forced Int8 path multiplies them as dequantized tiles.
TEST(Int8GemmSetup, OtherKindsFallBackToTiles) {
  for (const DType t : {DType::F16, DType::BF16}) {
    EXPECT_FALSE(cpu::int8_gemm_supports(t, Isa::Avx512Vnni)) << dtype_name(t);
    cpu::force_gemm_path(GemmPath::Int8);
    EXPECT_EQ(cpu::gemm_path(t, 64), GemmPath::DequantTile) << dtype_name(t);
    cpu::force_gemm_path(GemmPath::Auto);
    EXPECT_EQ(cpu::gemm_path(t, 64), GemmPath::DequantTile) << dtype_name(t);
    EXPECT_EQ(cpu::gemm_path(t, 4), GemmPath::Q8) << dtype_name(t);
  }
}

}  // namespace
}  // namespace flux::engine
