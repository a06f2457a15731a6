// The fp16 KV cache's conversions: every ISA body equals the bit-exact scalar helpers (round to nearest even, ties,
// subnormals, overflow to infinity, NaN), on odd lengths so the vector bodies' tails run too.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "engine/backend/cpu/half_rows.h"
#include "engine/backend/cpu/quant_dot.h"
#include "engine/format/tensor_convert.h"

namespace flux::engine {
namespace {

std::vector<cpu::Isa> levels() {
  std::vector<cpu::Isa> out;
  for (cpu::Isa i : {cpu::Isa::Scalar, cpu::Isa::Avx2, cpu::Isa::Avx512Vnni})
    if (cpu::isa_supported(i)) out.push_back(i);
  return out;
}

struct IsaReset {
  ~IsaReset() { cpu::force_isa(std::nullopt); }
};

std::vector<float> awkward_floats() {
  std::vector<float> x = {0.0f,
                          -0.0f,
                          1.0f,
                          -2.5f,
                          65504.0f,
                          65520.0f,
                          1e6f,
                          -1e6f,
                          std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(),
                          5.96e-8f,
                          2.98e-8f,
                          1e-9f,
                          6.1e-5f,
                          1.00048828125f /* tie: 1 + 2^-11 */,
                          1.00146484375f /* tie: 1 + 3·2^-11 */};
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-40.0f, 40.0f);
  for (int i = 0; i < 1000; ++i) x.push_back(u(rng));
  x.push_back(0.5f);  // odd length: 1017
  return x;
}

TEST(HalfRows, EveryIsaMatchesTheScalarHelpersBitForBit) {
  IsaReset reset;
  const std::vector<float> x = awkward_floats();
  std::vector<uint16_t> want_h(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) want_h[i] = f32_to_f16(x[i]);
  for (cpu::Isa isa : levels()) {
    SCOPED_TRACE(cpu::isa_name(isa));
    cpu::force_isa(isa);
    std::vector<uint16_t> h(x.size());
    cpu::f32_to_f16_n(x.data(), h.data(), static_cast<int64_t>(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (std::isnan(x[i])) {
        EXPECT_TRUE(std::isnan(f16_to_f32(h[i]))) << i;
        continue;
      }
      ASSERT_EQ(h[i], want_h[i]) << "value " << x[i];
    }
    std::vector<float> back(x.size());
    cpu::f16_to_f32_n(want_h.data(), back.data(), static_cast<int64_t>(x.size()));
    for (std::size_t i = 0; i < x.size(); ++i) {
      const float want = f16_to_f32(want_h[i]);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(back[i]));
        continue;
      }
      ASSERT_EQ(std::bit_cast<uint32_t>(back[i]), std::bit_cast<uint32_t>(want)) << i;
    }
    // Strided rows: 3 rows of 37 values out of rows 50 apart, into rows 40 apart; the gaps stay untouched.
    std::vector<float> dst(3 * 40, -7.0f);
    cpu::f16_to_f32_rows(want_h.data(), 50, dst.data(), 40, 3, 37);
    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 40; ++c) {
        const float got = dst[static_cast<std::size_t>(r * 40 + c)];
        if (c >= 37) {
          EXPECT_EQ(got, -7.0f);
        } else if (!std::isnan(got)) {
          EXPECT_EQ(got, f16_to_f32(want_h[static_cast<std::size_t>(r * 50 + c)]));
        }
      }
    }
  }
  // The helpers themselves: nearest-even ties and the overflow edge.
  EXPECT_EQ(f16_to_f32(f32_to_f16(1.00048828125f)), 1.0f);
  EXPECT_EQ(f16_to_f32(f32_to_f16(1.00146484375f)), 1.001953125f);
  EXPECT_EQ(f16_to_f32(f32_to_f16(65504.0f)), 65504.0f);
  EXPECT_TRUE(std::isinf(f16_to_f32(f32_to_f16(65520.0f))));
}

}  // namespace
}  // namespace flux::engine
