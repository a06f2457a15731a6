// Branch-free scalar pieces of the CPU attention's softmax, written so the loops that call them vectorize (a float
// select would be a branch under -ftrapping-math). Shared by the prefill and decode loops; always inlined, so a loop
// compiled for a wider instruction set (the decode bodies' target attributes) vectorizes them too.
#pragma once

#include <bit>
#include <cstdint>
#include <limits>

namespace flux::engine {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// e^x for x <= 0 (Cephes expf: range reduction by ln 2 and a degree-6 polynomial; measured relative error < 1e-7).
// Arguments below -87 (past float's normal range; -inf for masked scores) give exactly 0: next to the row maximum's
// e^0 = 1 such terms are below float resolution anyway.
[[gnu::always_inline]] inline float exp_nonpositive(float x) {
  const int32_t in_range = -static_cast<int32_t>(x > -87.0f);  // all ones or zero
  const float xc =
      std::bit_cast<float>((std::bit_cast<int32_t>(x) & in_range) | (std::bit_cast<int32_t>(-87.0f) & ~in_range));
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer
  const float n = (xc * 1.44269504088896341f + kRound) - kRound;
  const float r = xc - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = (p * r * r + r + 1.0f) * std::bit_cast<float>((static_cast<int32_t>(n) + 127) << 23);
  return std::bit_cast<float>(std::bit_cast<int32_t>(y) & in_range);
}

// max(a, b) for non-NaN floats as a bit blend.
[[gnu::always_inline]] inline float max_blend(float a, float b) {
  const int32_t a_wins = -static_cast<int32_t>(a >= b);
  return std::bit_cast<float>((std::bit_cast<int32_t>(a) & a_wins) | (std::bit_cast<int32_t>(b) & ~a_wins));
}

}  // namespace flux::engine
