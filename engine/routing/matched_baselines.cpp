#include "engine/routing/matched_baselines.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "engine/core/error.h"

namespace flux::engine {

int matched_sa_layers(double sa_fraction, int n_layers) {
  require(sa_fraction >= 0.0 && sa_fraction <= 1.0, "SA fraction {} outside [0, 1]", sa_fraction);
  return static_cast<int>(std::lround(sa_fraction * n_layers));
}

std::vector<int> random_layer_set(int n_layers, int count, uint64_t seed) {
  require(count >= 0 && count <= n_layers, "{} SA layers of {}", count, n_layers);
  std::vector<int> layers(static_cast<std::size_t>(n_layers));
  std::iota(layers.begin(), layers.end(), 0);
  std::mt19937_64 rng(seed);
  for (int i = n_layers - 1; i > 0; --i)  // Fisher–Yates; the modulo bias of 2^64 % (i + 1) is negligible
    std::swap(layers[static_cast<std::size_t>(i)], layers[rng() % static_cast<uint64_t>(i + 1)]);
  layers.resize(static_cast<std::size_t>(count));
  std::sort(layers.begin(), layers.end());
  return layers;
}

std::vector<int> first_k_match_layers(int n_layers, int sa_layers) {
  require(sa_layers >= 0 && sa_layers <= n_layers, "{} SA layers of {}", sa_layers, n_layers);
  std::vector<int> out;
  for (int l = n_layers - sa_layers; l < n_layers; ++l) out.push_back(l);
  return out;
}

std::vector<std::vector<int>> random_match_sets(int n_layers, int sa_layers, int seeds) {
  require(seeds > 0, "random:match needs at least one seed, not {}", seeds);
  std::set<std::vector<int>> drawn;
  std::vector<std::vector<int>> out;
  for (int s = 1; s <= seeds; ++s) {
    std::vector<int> set;
    for (int attempt = 0; attempt < 100; ++attempt) {
      set = random_layer_set(n_layers, sa_layers, static_cast<uint64_t>(s) + 1000u * static_cast<uint64_t>(attempt));
      if (!drawn.contains(set)) break;
    }
    if (!drawn.insert(set).second) break;  // no new set in 100 draws: there are not `seeds` distinct ones
    out.push_back(std::move(set));
  }
  return out;
}

RouteSpec forced_sa_route(const RouteSpec& base, const std::vector<int>& sa_layers) {
  RouteSpec spec = base;
  spec.preset = "fa";
  spec.overrides.clear();
  for (int l : sa_layers) spec.overrides.push_back({l, l, LayerMode::SA});
  return spec;
}

}  // namespace flux::engine
