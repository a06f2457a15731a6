// The two-level Q8 activations (cpu/q8_activations.h): the residual lies on the fixed grid d / 256 the fused SIMD dot
// relies on, the stored sums are the sums of what the block represents, and the fused integer dot stays exact at
// the largest magnitudes a block can hold (Q8_0 weights of -128 times near-full activations, every ISA body).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "engine/backend/cpu/q8_activations.h"
#include "engine/backend/cpu/quant_dot.h"
#include "engine/backend/tensor.h"

namespace flux::engine {
namespace {

using cpu::Isa;
using cpu::Q8Block;

std::vector<float> random_row(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(static_cast<std::size_t>(n));
  for (float& v : x) v = g(rng);
  x[5] = 40.0f;  // an outlier block, as after SwiGLU
  return x;
}

TEST(Q8Activations, ResidualLevelIsOnTheFixedFinerGridAndSumsMatch) {
  const int64_t n = 256;
  const std::vector<float> x = random_row(n, 7);
  std::vector<Q8Block> a(n / 32);
  for (const bool residual : {false, true}) {
    cpu::quantize_row_q8(x.data(), a.data(), n, residual);
    for (int64_t b = 0; b < n / 32; ++b) {
      const Q8Block& k = a[static_cast<std::size_t>(b)];
      ASSERT_GT(k.d, 0.0f);
      EXPECT_EQ(k.d2, residual ? k.d / 256.0f : 0.0f);
      double s = 0, s0 = 0;
      for (int j = 0; j < 32; ++j) {
        const double v = double(k.d) * k.q[j] + double(k.d2) * k.q2[j];
        const double err = std::fabs(v - x[static_cast<std::size_t>(b * 32 + j)]);
        // one level: half a step of d; two: half a step of d / 256 (a clamped q2 of 128 adds one more step)
        EXPECT_LE(err, residual ? 1.5 * k.d2 + 1e-6 * k.d : 0.5 * k.d * (1 + 1e-5)) << b << " " << j;
        if (!residual) {
          EXPECT_EQ(k.q2[j], 0);
        }
        s += v;
        if (j < 16) s0 += v;
      }
      EXPECT_NEAR(k.s, s, 1e-5 * 32 * 127 * k.d);
      EXPECT_NEAR(k.s0, s0, 1e-5 * 16 * 127 * k.d);
    }
  }
}

// The AVX-512 quantizer is the portable one 16 lanes at a time: the same bytes, scales and sums, so the Q8 GEMV and
// the int8 GEMM see the same activations at every ISA level (ties of round-to-nearest-even included: x = 0.5 d).
TEST(Q8Activations, EveryIsaLevelQuantizesBitForBitAlike) {
  const int64_t n = 1024;
  std::vector<float> x = random_row(n, 11);
  for (int j = 64; j < 96; ++j) x[static_cast<std::size_t>(j)] = 0.0f;  // an all-zero block: d = 0
  x[100] = 127.0f, x[101] = 0.5f, x[102] = -1.5f, x[103] = 2.5f;          // exact halves of d = 1
  for (const bool residual : {false, true}) {
    std::vector<Q8Block> ref(n / 32), got(n / 32);
    cpu::force_isa(Isa::Scalar);
    cpu::quantize_row_q8(x.data(), ref.data(), n, residual);
    for (const Isa isa : {Isa::Avx2, Isa::Avx512Vnni}) {
      if (!cpu::isa_supported(isa)) continue;
      cpu::force_isa(isa);
      cpu::quantize_row_q8(x.data(), got.data(), n, residual);
      for (std::size_t b = 0; b < ref.size(); ++b)
        ASSERT_EQ(std::memcmp(&ref[b], &got[b], sizeof(Q8Block)), 0) << cpu::isa_name(isa) << " block " << b;
    }
  }
  cpu::force_isa(std::nullopt);
}

TEST(Q8Activations, FusedDotIsExactAtTheLargestMagnitudes) {
  // Q8_0 weights all -128 with scale 1; activations 126.496 d (q = 126, q2 = 127) but one element per block at the
  // maximum (q = 127): the largest int32 lane the fused 256 <w, q> + <w, q2> reaches, near 2^24.
  const int64_t cols = 128;
  std::vector<uint8_t> w(cols / 32 * 34);
  for (int64_t b = 0; b < cols / 32; ++b) {
    const uint16_t one = 0x3C00;
    std::memcpy(&w[static_cast<std::size_t>(b * 34)], &one, 2);
    std::memset(&w[static_cast<std::size_t>(b * 34 + 2)], 0x80, 32);
  }
  std::vector<float> x(cols, 126.496f);
  for (int64_t b = 0; b < cols / 32; ++b) x[static_cast<std::size_t>(b * 32 + 3)] = 127.0f;
  std::vector<Q8Block> a(cols / 32);
  for (const bool residual : {false, true}) {
    cpu::quantize_row_q8(x.data(), a.data(), cols, residual);
    double exact = 0;
    for (const Q8Block& k : a)
      for (int j = 0; j < 32; ++j) exact += -128.0 * (double(k.d) * k.q[j] + double(k.d2) * k.q2[j]);
    if (residual) {
      EXPECT_EQ(a[0].q2[0], 127);
    }
    for (const Isa isa : {Isa::Scalar, Isa::Avx2, Isa::Avx512Vnni}) {
      if (!cpu::isa_supported(isa)) continue;
      const float got = cpu::row_dot(DType::Q8_0, isa, residual)(w.data(), a.data(), cols);
      EXPECT_NEAR(got, exact, 1e-6 * std::fabs(exact)) << cpu::isa_name(isa) << (residual ? " residual" : "");
    }
  }
}

}  // namespace
}  // namespace flux::engine
