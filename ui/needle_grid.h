// The needle grid of Tools → Needle Sweep… (issue 15 point 6): a context × depth × route grid of needle-in-a-haystack
// runs, each cell scored by the engine's one rule (engine/runtime/answer_check.h, as the CLI's `sweep` scores), kept
// as one JSON file in the runs folder. Pure values; EngineWorker::runNeedleGrid fills them, NeedleGridView draws them.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "engine/routing/route_spec.h"

namespace flux::ui {

struct NeedleGridSpec {
  std::vector<int> contexts;  // prompt sizes in tokens (the filler is sized to reach them)
  std::vector<int> depths;    // where the needle sits, % of the filler (0 = start, 100 = end)
  // "router", "fa", "sa:streaming", "sa:triangle", "sa:xattn", "plan" (the layer map's plan when it started), the
  // static baselines at the router's SA share on the same prompt — "first-k:match", "random:match" (random_seeds
  // random sets, one cell each) — "file:PATH" (a saved route file, e.g. the best fixed layer set) and
  // "router-file:PATH" (preset router under another router file, e.g. the previous Elastic router).
  std::vector<std::string> routes;
  int max_new_tokens = 16;
  int seed = 1;
  int random_seeds = 3;
  // Cells of a full grid: one per context × depth × route, random_seeds for random:match.
  int cellCount() const;
  bool operator==(const NeedleGridSpec&) const = default;
};

struct NeedleCell {
  std::string route;      // one of spec.routes
  int context = 0;        // the target size (a spec.contexts entry)
  int depth = 0;          // a spec.depths entry
  int prompt_tokens = 0;  // what the sized prompt really had
  std::string answer, output;
  bool passed = false;  // answer_in_output(output, answer)
  double prefill_ms = 0.0;
  double sa_fraction = 0.0;
  std::string status = "ok";  // the run's status ("ok"; "error" with the reason in output)
  int seed = 0;                // random:match: the random set's seed (1..S); 0 for the other routes
  std::string route_spec;      // the RouteSpec text it ran (the matched baselines' layers differ per prompt)
  bool operator==(const NeedleCell&) const = default;
};

struct NeedleGrid {
  NeedleGridSpec spec;
  std::vector<std::string> route_specs;  // per spec.routes entry: the RouteSpec text the cells ran (describe())
  std::vector<NeedleCell> cells;         // in the order they ran; fewer than spec.cellCount() when cancelled
  bool cancelled = false;
  std::string error;  // why the grid stopped early when it was not cancelled (empty: it ran or was cancelled)
  std::string started_at, model_name, backend;

  // The first cell of (route, context, depth); random:match has one per seed (cellsAt).
  const NeedleCell* cell(const std::string& route, int context, int depth) const;
  std::vector<const NeedleCell*> cellsAt(const std::string& route, int context, int depth) const;
  // Over the route's cells that ran (every seed of random:match): how many passed, and the mean SA fraction.
  int passed(const std::string& route) const;
  int ran(const std::string& route) const;
  double saFraction(const std::string& route) const;
  // random:match: the pass count of each seed's cells, their mean and sample standard deviation (0 for one seed).
  struct SeedSpread {
    int seeds = 0;
    double mean = 0.0, spread = 0.0;
  };
  SeedSpread seedSpread(const std::string& route) const;
  bool operator==(const NeedleGrid&) const = default;
};

// The scoring rule of a cell (the CLI sweep's, from one place).
bool needleAnswerFound(const std::string& output, const std::string& answer);

// The RouteSpec a grid route runs: "plan" = `plan` as it is; "file:PATH" = the file's route; the others keep plan's
// SA / XAttention parameters and replace the preset, the SA kind and the overrides. The matched baselines take
// `sa_layers` (engine/routing/matched_baselines.h: first-k:match's or one random:match set), ignored otherwise.
// Throws engine::Error for an unknown route name or a route file that does not load.
engine::RouteSpec needleRouteSpec(const std::string& route, const engine::RouteSpec& plan,
                                  const std::vector<int>& sa_layers = {});
// first-k:match and random:match: they run after "router" on each prompt, at its SA share.
bool needleRouteIsMatched(const std::string& route);
// "router-file:PATH": the router file it runs under (empty for other routes).
std::string needleRouteRouterFile(const std::string& route);
// What a grid's route_specs entry says for a route: describe(needleRouteSpec(...)), or for the matched baselines the
// rule ("fa, the last round(f·L) layers SA; f = the router's SA fraction on the same prompt").
std::string needleRouteDescription(const std::string& route, const engine::RouteSpec& plan);
// The grid routes offered in the dialog (plus "plan").
const std::vector<std::string>& needleRouteNames();

nlohmann::json needleGridToJson(const NeedleGrid& grid);
// Throws engine::Error with a message for people when the JSON is not a needle grid.
NeedleGrid needleGridFromJson(const nlohmann::json& j);

}  // namespace flux::ui
