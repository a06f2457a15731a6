// The static baselines of the null hypothesis "a fixed layer set with the router's SA share does as well" (issue 16):
// first-k:match (the first layers FA, the last SA) and random:match (seeded random SA sets), each with as many SA
// layers as the router sent to SA. One definition for the CLI's sweep / perplexity and the app's needle grid.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/routing/route_spec.h"

namespace flux::engine {

// round(f·L) SA layers (half away from zero), so the achieved fraction is within 1/(2L) of the router's.
int matched_sa_layers(double sa_fraction, int n_layers);
// `count` distinct layers of [0, n_layers), drawn by a seeded Fisher–Yates over std::mt19937_64 (the same sets on
// every platform: no std::uniform_int_distribution), sorted.
std::vector<int> random_layer_set(int n_layers, int count, uint64_t seed);
// first-k:match: the last `sa_layers` layers SA (first-k:N with N = L − sa_layers FA layers first).
std::vector<int> first_k_match_layers(int n_layers, int sa_layers);
// random:match: the sets of seeds 1..S, all distinct (a set an earlier seed drew is redrawn from s + 1000·attempt);
// fewer than S when [0, n_layers) has fewer distinct sets of that size.
std::vector<std::vector<int>> random_match_sets(int n_layers, int sa_layers, int seeds);
// The route that runs exactly `sa_layers` as SA and every other layer as FA ("fa override=L=SA,…"), keeping base's
// kinds and parameters.
RouteSpec forced_sa_route(const RouteSpec& base, const std::vector<int>& sa_layers);

}  // namespace flux::engine
