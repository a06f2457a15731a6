// The counter-based generator behind Backend::random: value i of a tensor is a pure function of (seed, i), so the
// CPU (host loop) and CUDA (one thread per element) produce the same numbers without any fp32 host copy of the
// weights. Dependency-free and host/device so kernels/*.cu can include it.
#pragma once

#include <cstdint>

#include "engine/core/host_device.h"

namespace flux::engine {

// splitmix64 finalizer: a bijective mix, so distinct (seed, index) pairs give well-spread 64-bit words.
FLUX_HOST_DEVICE inline uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Uniform in [-scale, scale): 24 random bits mapped exactly onto floats (no rounding differences host vs device).
FLUX_HOST_DEVICE inline float random_uniform(uint64_t seed, uint64_t index, float scale) {
  const uint64_t bits = mix64(mix64(seed) ^ index) >> 40;                                                 // 24 bits
  const float unit = static_cast<float>(static_cast<int64_t>(bits) - (1ll << 23)) * (1.0f / 8388608.0f);  // [-1, 1)
  return unit * scale;
}

}  // namespace flux::engine
