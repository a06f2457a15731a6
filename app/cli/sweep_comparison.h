// The sweep's comparison of routes against the null hypothesis: per route (random:match seeds pooled into their
// group) the mean SA fraction and the accuracy per task kind, with mean, std, min and max over the seeds; and the
// router's accuracy margin over every other route per kind, with its spread.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flux::cli {

struct SweepOutcome {
  std::size_t task = 0;  // index in the task file
  std::string kind, route, group;
  bool correct = false;
  double sa_fraction = 0.0;
};

// {"routes": [{route, members, sa_fraction, accuracy: {kind: x}, spread: {kind: {mean, std, min, max, n}}?}],
//  "margins": [{baseline, kind, margin, tasks, paired_se | std, min, max, n_seeds}]} — margins only with "router".
// A single baseline's spread is the paired standard error over tasks, sd(router_i − baseline_i) / sqrt(n); a
// group's is the std of the per-seed margins (n − 1 denominators).
nlohmann::json compare_routes(const std::vector<SweepOutcome>& outcomes, const std::vector<std::string>& route_order);
void print_route_comparison(const nlohmann::json& comparison);

}  // namespace flux::cli
