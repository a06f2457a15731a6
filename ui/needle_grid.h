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
  // "router", "fa", "sa:streaming", "sa:triangle", "sa:xattn", or "plan" (the layer map's plan when it started)
  std::vector<std::string> routes;
  int max_new_tokens = 16;
  int seed = 1;
  int cellCount() const { return int(contexts.size() * depths.size() * routes.size()); }
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
  bool operator==(const NeedleCell&) const = default;
};

struct NeedleGrid {
  NeedleGridSpec spec;
  std::vector<std::string> route_specs;  // per spec.routes entry: the RouteSpec text the cells ran (describe())
  std::vector<NeedleCell> cells;         // in the order they ran; fewer than spec.cellCount() when cancelled
  bool cancelled = false;
  std::string error;  // why the grid stopped early when it was not cancelled (empty: it ran or was cancelled)
  std::string started_at, model_name, backend;

  const NeedleCell* cell(const std::string& route, int context, int depth) const;
  // Over the route's cells that ran: how many passed, and the mean SA fraction.
  int passed(const std::string& route) const;
  int ran(const std::string& route) const;
  double saFraction(const std::string& route) const;
  bool operator==(const NeedleGrid&) const = default;
};

// The scoring rule of a cell (the CLI sweep's, from one place).
bool needleAnswerFound(const std::string& output, const std::string& answer);

// The RouteSpec a grid route runs: "plan" = `plan` as it is; the others keep plan's SA / XAttention parameters and
// replace the preset, the SA kind and the overrides. Throws engine::Error for an unknown route name.
engine::RouteSpec needleRouteSpec(const std::string& route, const engine::RouteSpec& plan);
// The grid routes offered in the dialog (plus "plan").
const std::vector<std::string>& needleRouteNames();

nlohmann::json needleGridToJson(const NeedleGrid& grid);
// Throws engine::Error with a message for people when the JSON is not a needle grid.
NeedleGrid needleGridFromJson(const nlohmann::json& j);

}  // namespace flux::ui
