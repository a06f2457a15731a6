// The CPU's quantized matmul (cpu/weight_matmul.h) against dequantize -> fp32 matmul, for every block type, every
// instruction-set body this CPU runs and both prefill paths, on odd shapes (output rows not a multiple of any chunk,
// 1, 7 and 300 activation rows). Weights are random GGML blocks with valid per-block scales (random_blocks.h).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "engine/backend/cpu/q8_activations.h"
#include "engine/backend/cpu/quant_dot.h"
#include "engine/backend/cpu/weight_matmul.h"
#include "engine/backend/cpu_backend.h"
#include "engine/backend/random_blocks.h"
#include "engine/backend/weight_dtype.h"
#include "engine/core/error.h"
#include "engine/format/ggml_quant.h"
#include "tests/engine/support/q8_rounded.h"

namespace flux::engine {
namespace {

using flux::test::q8_rounded;

using cpu::GemmPath;
using cpu::Isa;

constexpr StorageType kTypes[] = {StorageType::Q4_0, StorageType::Q4_1, StorageType::Q5_0, StorageType::Q5_1,
                                  StorageType::Q8_0, StorageType::Q4_K, StorageType::Q5_K, StorageType::Q6_K,
                                  StorageType::F16,  StorageType::BF16};

struct Weight {
  std::vector<std::byte> blocks;
  std::vector<float> f32;  // the same weight dequantized by ggml_quant.cpp's reference
};

Weight random_weight(StorageType type, int64_t rows, int64_t cols, uint64_t seed) {
  Weight w;
  w.blocks.resize(static_cast<std::size_t>(tensor_bytes(type, rows * cols)));
  fill_random_blocks(type, w.blocks, rows, cols, 0.05f, seed);
  w.f32.resize(static_cast<std::size_t>(rows * cols));
  dequantize(type, w.blocks, w.f32);
  return w;
}

std::vector<float> random_activations(int64_t n, int64_t cols, uint64_t seed) {
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(n * cols));
  for (float& v : x) v = u(rng);
  return x;
}

std::vector<Isa> isas() {
  std::vector<Isa> out;
  for (Isa i : {Isa::Scalar, Isa::Avx2, Isa::Avx512Vnni})
    if (cpu::isa_supported(i)) out.push_back(i);
  return out;
}

struct Shape {
  int64_t n, rows, cols;
};

class QuantMatmul : public ::testing::TestWithParam<StorageType> {
 protected:
  void TearDown() override {
    cpu::force_isa(std::nullopt);
    cpu::force_gemm_path(GemmPath::Auto);
    cpu::force_residual_activations(std::nullopt);
  }
};

TEST_P(QuantMatmul, MatchesDequantizedFp32WithinTheQ8RoundingBound) {
  const StorageType type = GetParam();
  const DType dtype = *dtype_for_storage(type);
  const bool k_quant = block_elems(type) == 256;
  CpuBackend backend(2);
  for (const Shape s : {Shape{1, 67, k_quant ? 512 : 96}, Shape{7, 133, 256}, Shape{300, 45, k_quant ? 256 : 160}}) {
    const Weight w = random_weight(type, s.rows, s.cols, 17 + static_cast<uint64_t>(s.n));
    const Tensor wt = backend.upload_weight(type, w.blocks, s.rows, s.cols);
    ASSERT_EQ(wt.dtype, dtype);
    const std::vector<float> x = random_activations(s.n, s.cols, 5 + static_cast<uint64_t>(s.rows));
    const Tensor xt = backend.upload(x, s.n, s.cols);
    for (const bool residual : {false, true})
      for (const GemmPath path : {GemmPath::Q8, GemmPath::DequantTile}) {
        cpu::force_residual_activations(residual);
        const std::vector<float> xq = q8_rounded(x, s.cols, residual);
        // 16-bit weights: "Q8" is their direct GEMV, activations stay fp32.
        const bool q8 = path == GemmPath::Q8 && is_block_quant(dtype);
        for (const Isa isa : isas()) {
          // the tile path has no per-ISA body of ours
          if (path == GemmPath::DequantTile && isa != Isa::Scalar) continue;
          cpu::force_isa(isa);
          cpu::force_gemm_path(path);
          Tensor out = backend.empty(s.n, s.rows);
          backend.matmul(xt, wt, out);
          std::vector<float> y(static_cast<std::size_t>(s.n * s.rows));
          backend.download(out, y);
          for (int64_t r = 0; r < s.n; ++r)
            for (int64_t o = 0; o < s.rows; ++o) {
              // exact: the product of what the kernel multiplies (Q8-rounded or fp32 x) in double; bound: the
              // activation rounding (|x - d q| <= d / 2 per element) times |w|, plus fp32 accumulation.
              double exact = 0, reference = 0, magnitude = 0, rounding = 0;
              for (int64_t c = 0; c < s.cols; ++c) {
                const double wv = w.f32[static_cast<std::size_t>(o * s.cols + c)];
                const double xv = x[static_cast<std::size_t>(r * s.cols + c)];
                const double xqv = xq[static_cast<std::size_t>(r * s.cols + c)];
                exact += wv * (q8 ? xqv : xv);
                reference += wv * xv;
                magnitude += std::fabs(wv * xv);
                rounding += std::fabs(wv) * std::fabs(xv - xqv);
              }
              const double got = y[static_cast<std::size_t>(r * s.rows + o)];
              const double fp32_slack = 1e-5 * magnitude + 1e-7;
              ASSERT_NEAR(got, exact, fp32_slack)
                  << storage_type_name(type) << " " << cpu::isa_name(isa) << " n=" << s.n << " row " << o
                  << (q8 ? " q8" : " tile") << (residual ? "x2" : "");
              ASSERT_NEAR(got, reference, rounding + fp32_slack) << storage_type_name(type) << " row " << o;
            }
        }
      }
  }
}

// The bodies must agree with each other too (the scalar one is the portable reference).
TEST_P(QuantMatmul, EveryIsaBodyGivesTheScalarResult) {
  const StorageType type = GetParam();
  const DType dtype = *dtype_for_storage(type);
  if (!is_block_quant(dtype)) GTEST_SKIP() << "16-bit weights have no Q8 bodies";
  const int64_t cols = 1024;
  const Weight w = random_weight(type, 1, cols, 3);
  const std::vector<float> x = random_activations(1, cols, 4);
  std::vector<cpu::Q8Block> a(cols / 32);
  const auto* wb = reinterpret_cast<const uint8_t*>(w.blocks.data());
  for (const bool residual : {false, true}) {
    cpu::quantize_row_q8(x.data(), a.data(), cols, residual);
    const float scalar = cpu::row_dot_scalar(dtype, residual)(wb, a.data(), cols);
    for (const Isa isa : isas())
      EXPECT_NEAR(cpu::row_dot(dtype, isa, residual)(wb, a.data(), cols), scalar, 1e-5 * (std::fabs(scalar) + 1.0))
          << cpu::isa_name(isa) << (residual ? " residual" : "");
  }
}

TEST_P(QuantMatmul, EmbeddingRowsAreTheDequantizedRows) {
  const StorageType type = GetParam();
  CpuBackend backend(1);
  const int64_t rows = 9, cols = 256;
  const Weight w = random_weight(type, rows, cols, 8);
  const Tensor table = backend.upload_weight(type, w.blocks, rows, cols);
  const std::vector<int32_t> ids = {3, 0, 8, 3};
  Tensor out = backend.empty(4, cols);
  backend.embed(table, ids, out);
  std::vector<float> y(4 * cols);
  backend.download(out, y);
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (int64_t c = 0; c < cols; ++c)
      ASSERT_EQ(y[i * cols + c], w.f32[static_cast<std::size_t>(ids[i] * cols + c)]) << i << " " << c;
}

INSTANTIATE_TEST_SUITE_P(AllTypes, QuantMatmul, ::testing::ValuesIn(kTypes),
                         [](const ::testing::TestParamInfo<StorageType>& p) {
                           return std::string(storage_type_name(p.param));
                         });

TEST(QuantMatmulSetup, TypesWithoutACpuBodyAreStoredAsFp32) {
  CpuBackend backend(1);
  std::vector<std::byte> blocks(static_cast<std::size_t>(tensor_bytes(StorageType::IQ4_NL, 64)), std::byte{0x11});
  const Tensor t = backend.upload_weight(StorageType::IQ4_NL, blocks, 2, 32);
  EXPECT_EQ(t.dtype, DType::F32);
  EXPECT_EQ(backend.weight_execution(t), "f32");
}

TEST(QuantMatmulSetup, ExecutionTypesAreNamed) {
  cpu::force_residual_activations(false);
  EXPECT_EQ(cpu::execution_type(DType::Q4_1), "q4_1 x q8");
  cpu::force_residual_activations(true);
  EXPECT_EQ(cpu::execution_type(DType::Q4_1), "q4_1 x q8x2");
  cpu::force_residual_activations(std::nullopt);
  EXPECT_EQ(cpu::execution_type(DType::BF16), "bf16 x f32");
  EXPECT_EQ(cpu::execution_type(DType::F32), "f32");
}

TEST(QuantMatmulSetup, WrongWeightSizeIsAClearError) {
  CpuBackend backend(1);
  std::vector<std::byte> blocks(19);
  EXPECT_THROW(backend.upload_weight(StorageType::Q4_0, blocks, 1, 32), Error);
}

}  // namespace
}  // namespace flux::engine
