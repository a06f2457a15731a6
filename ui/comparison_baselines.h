// "Compare with baselines…" (issue 16 point 3, the app side of the CLI sweep's baselines): for one finished run, the
// routes of the null hypothesis "a fixed layer set with this run's SA share does as well" — all-FA, all-SA of each
// kind, first-k:match and random:match (S seeds) at the run's own SA fraction (engine/routing/matched_baselines.h),
// a saved route file (the best fixed set) and the previous router — and their results, random:match folded into
// mean ± spread over the seeds. Pure values; EngineWorker::runBaselines runs them, ComparisonView shows them.
#pragma once

#include <string>
#include <vector>

#include "engine/routing/route_spec.h"
#include "engine/runtime/run_report.h"

namespace flux::ui {

struct BaselineOptions {
  int random_seeds = 5;
  std::string route_file;       // a saved route (file:PATH, e.g. the best fixed layer set); empty: none
  std::string previous_router;  // a router file run as preset router (router-file:PATH); empty: none
};

struct BaselineRoute {
  std::string name;  // a needle-grid route name (needle_grid.h): fa, sa:KIND, first-k:match, random:match, file:…
  int seed = 0;      // random:match: 1..S
  engine::RouteSpec route;
};

// The baselines of `run` (a finished run): k = round(f·L) SA layers for the matched ones, f = its SA fraction,
// L = its layers; every route keeps the run's SA / XAttention parameters. Throws engine::Error when the run did not
// finish or a route file does not load.
std::vector<BaselineRoute> comparisonBaselines(const engine::RunReport& run, const BaselineOptions& options);

struct BaselineResult {
  std::string name;                 // "this run" for the run itself
  int seed = 0;                     // random:match's seed
  std::string route;                // describe() of the route it ran
  int sa_layers = 0, n_layers = 0;  // counted from the report's layers
  double prefill_ms = 0.0, decode_ms_per_token = 0.0;
  std::string output;
  int passed = -1;  // 1 / 0: the expected answer is in / not in the output; -1: the prompt carries none
  bool operator==(const BaselineResult&) const = default;
};
// The result of one run; `answer` empty: no pass / fail.
BaselineResult baselineResult(const std::string& name, int seed, const engine::RunReport& report,
                              const std::string& answer);

struct BaselineRun {
  BaselineResult run;                   // the run the baselines are for
  std::string answer;                   // the expected answer its prompt carries (empty: none)
  std::vector<BaselineResult> results;  // in the order they ran; fewer than total when cancelled
  int total = 0;
  bool running = false, cancelled = false;
  std::string error;
};

// One row per baseline name (the run itself first); random:match's seeds folded: means and sample spreads.
struct BaselineRow {
  std::string name;
  int seeds = 1;
  int sa_layers = 0, n_layers = 0;
  double prefill_ms = 0.0, prefill_spread = 0.0, decode_ms = 0.0, decode_spread = 0.0;
  int passed = -1;                            // seeds that passed; -1: no expected answer
  double pass_mean = 0.0, pass_spread = 0.0;  // over the seeds (1 / 0 each)
  std::vector<const BaselineResult*> results;
};
std::vector<BaselineRow> baselineRows(const BaselineRun& b);

}  // namespace flux::ui
