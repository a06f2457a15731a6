// Test helper for the attention tests (CPU, fp16 KV, XAttention): seeded random rows and the relative error of a
// result against a double-precision reference.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

namespace flux::test {

// n values uniform in [-amp, amp), the same for a seed on every platform's std::mt19937.
inline std::vector<float> random_vec(std::size_t n, uint32_t seed, float amp) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-amp, amp);
  std::vector<float> x(n);
  for (float& e : x) e = u(rng);
  return x;
}

// max |got - want| / max |want|
inline double rel_error(const std::vector<float>& got, const std::vector<double>& want) {
  double err = 0.0, scale = 1e-30;
  for (std::size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, std::abs(got[i] - want[i]));
    scale = std::max(scale, std::abs(want[i]));
  }
  return err / scale;
}

}  // namespace flux::test
