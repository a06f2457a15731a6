// Test helpers for the Layer Router suites: deterministic routers and a per-process temp directory.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "engine/routing/layer_router.h"

namespace flux::test {

inline std::filesystem::path router_temp_dir() {
  const auto dir = std::filesystem::temp_directory_path() / ("flux_router_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

// Deterministic pseudo-random values in [-scale, scale].
inline std::vector<float> lcg_values(std::size_t n, uint32_t& state, float scale) {
  std::vector<float> v(n);
  for (auto& x : v) {
    state = state * 1664525u + 1013904223u;
    x = scale * (static_cast<float>(state >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f);
  }
  return v;
}

inline engine::RouterLinear make_linear(int in, int out, uint32_t& state, float scale) {
  engine::RouterLinear l;
  l.in = in;
  l.out = out;
  l.weight = lcg_values(static_cast<std::size_t>(in) * static_cast<std::size_t>(out), state, scale);
  l.bias = lcg_values(static_cast<std::size_t>(out), state, scale);
  return l;
}

inline engine::RouterLayerWeights make_layer(int d, uint32_t& state, float scale) {
  return {make_linear(d, 4 * d, state, scale), make_linear(4 * d, d, state, scale),
          make_linear(d, 4 * d, state, scale), make_linear(4 * d, d, state, scale), make_linear(d, 1, state, scale)};
}

// A router with random weights (scale 0.3), or — when `forced` is given — zero weights and head.4 bias forced[l]
// so that layer l's logit is exactly forced[l].
inline engine::LayerRouter make_router(int n_layers, int n_kv_heads, int head_dim,
                                       const std::vector<float>& forced = {}, uint32_t seed = 7) {
  engine::RouterConfig c;
  c.n_layers = n_layers;
  c.n_kv_heads = n_kv_heads;
  c.head_dim = head_dim;
  c.model = "test";
  std::vector<engine::RouterLayerWeights> layers;
  for (int l = 0; l < n_layers; ++l) {
    engine::RouterLayerWeights w = make_layer(head_dim, seed, forced.empty() ? 0.3f : 0.0f);
    if (!forced.empty()) w.head4.bias[0] = forced[static_cast<std::size_t>(l)];
    layers.push_back(std::move(w));
  }
  return engine::LayerRouter(c, std::move(layers));
}

}  // namespace flux::test
