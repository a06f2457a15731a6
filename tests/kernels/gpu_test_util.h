// Shared helpers of the GPU tests: skip without a device, bf16-rounded random inputs (so both backends see the same
// values), relative error, and a CPU/CUDA backend pair created inside each test (never at static init: discovery
// must list the tests on machines without a GPU).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/backend/cuda_factory.h"
#include "engine/core/error.h"

#define FLUX_REQUIRE_GPU()                                                          \
  do {                                                                              \
    if (!::flux::engine::cuda_device_available()) GTEST_SKIP() << "no CUDA device"; \
  } while (0)

namespace flux::engine::testing_gpu {

inline float round_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  u += 0x7fffu + ((u >> 16) & 1u);
  u &= 0xffff0000u;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// Uniform in [-scale, scale], rounded to bf16.
inline std::vector<float> random_bf16(std::size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = round_bf16(dist(rng));
  return v;
}

// ||a - b|| / ||b||; NaN anywhere in a makes it NaN, which fails every `<` check.
inline double rel_err(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0, ref = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff += std::pow(static_cast<double>(a[i]) - b[i], 2);
    ref += std::pow(static_cast<double>(b[i]), 2);
  }
  if (a.size() != b.size()) return INFINITY;
  return ref == 0.0 ? std::sqrt(diff) : std::sqrt(diff / ref);
}

inline std::vector<float> fetch(Backend& b, const Tensor& t) {
  std::vector<float> out(static_cast<std::size_t>(t.numel()));
  b.download(t, out);
  return out;
}

// An output buffer filled with NaN, so elements a kernel never writes show up in the comparison.
inline Tensor poisoned(Backend& b, int64_t rows, int64_t cols) {
  return b.upload(std::vector<float>(static_cast<std::size_t>(rows * cols), NAN), rows, cols);
}

struct BackendPair {
  std::unique_ptr<Backend> cpu = make_cpu_backend(2);
  std::unique_ptr<Backend> gpu = make_cuda_backend();
};

}  // namespace flux::engine::testing_gpu
