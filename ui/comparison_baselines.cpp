#include "ui/comparison_baselines.h"

#include <cmath>

#include "engine/core/error.h"
#include "engine/routing/matched_baselines.h"
#include "engine/runtime/answer_check.h"
#include "ui/needle_grid.h"

namespace flux::ui {
namespace {

struct MeanSpread {
  double mean = 0.0, spread = 0.0;
};
// The mean and the sample standard deviation (0 for one value), as the needle grid's seed spread.
template <typename F>
MeanSpread meanSpread(const std::vector<const BaselineResult*>& rs, F&& value) {
  MeanSpread m;
  for (const BaselineResult* r : rs) m.mean += value(*r);
  m.mean /= double(rs.size());
  if (rs.size() < 2) return m;
  double ss = 0.0;
  for (const BaselineResult* r : rs) ss += (value(*r) - m.mean) * (value(*r) - m.mean);
  m.spread = std::sqrt(ss / double(rs.size() - 1));
  return m;
}

}  // namespace

std::vector<BaselineRoute> comparisonBaselines(const engine::RunReport& run, const BaselineOptions& o) {
  engine::require(run.status == "ok" && !run.layers.empty(),
                  "baselines need a finished run (this one is '{}'): run it to the end first", run.status);
  engine::require(o.random_seeds >= 1, "random:match needs at least one seed, not {}", o.random_seeds);
  const engine::RouteSpec plan = engine::parse_route_spec(run.settings.route);
  const int n_layers = int(run.layers.size());
  const int k = engine::matched_sa_layers(run.summary.sa_fraction, n_layers);
  std::vector<BaselineRoute> out;
  const auto add = [&](const std::string& name, const std::vector<int>& sa_layers, int seed) {
    out.push_back({name, seed, needleRouteSpec(name, plan, sa_layers)});
  };
  for (const char* name : {"fa", "sa:streaming", "sa:triangle", "sa:xattn"}) add(name, {}, 0);
  add("first-k:match", engine::first_k_match_layers(n_layers, k), 0);
  const auto sets = engine::random_match_sets(n_layers, k, o.random_seeds);
  for (std::size_t i = 0; i < sets.size(); ++i) add("random:match", sets[i], int(i) + 1);
  if (!o.route_file.empty()) add("file:" + o.route_file, {}, 0);
  if (!o.previous_router.empty()) add("router-file:" + o.previous_router, {}, 0);
  return out;
}

BaselineResult baselineResult(const std::string& name, int seed, const engine::RunReport& report,
                              const std::string& answer) {
  BaselineResult r;
  r.name = name;
  r.seed = seed;
  r.route = report.settings.route;
  r.n_layers = int(report.layers.size());
  for (const engine::LayerReport& l : report.layers) r.sa_layers += l.mode == engine::LayerMode::SA;
  r.prefill_ms = report.summary.prefill_ms;
  r.decode_ms_per_token = report.summary.decode_ms_per_token;
  r.output = report.output_text;
  if (!answer.empty()) r.passed = engine::answer_in_output(r.output, answer) ? 1 : 0;
  return r;
}

std::vector<BaselineRow> baselineRows(const BaselineRun& b) {
  std::vector<BaselineRow> rows;
  const auto rowOf = [&](const BaselineResult& r) -> BaselineRow& {
    for (BaselineRow& row : rows)
      if (row.name == r.name) return row;
    rows.push_back({});
    rows.back().name = r.name;
    return rows.back();
  };
  rowOf(b.run).results.push_back(&b.run);
  for (const BaselineResult& r : b.results) rowOf(r).results.push_back(&r);
  for (BaselineRow& row : rows) {
    const BaselineResult& first = *row.results.front();
    row.seeds = int(row.results.size());
    row.sa_layers = first.sa_layers;  // the same k for every seed
    row.n_layers = first.n_layers;
    const MeanSpread p = meanSpread(row.results, [](const BaselineResult& r) { return r.prefill_ms; });
    const MeanSpread d = meanSpread(row.results, [](const BaselineResult& r) { return r.decode_ms_per_token; });
    row.prefill_ms = p.mean, row.prefill_spread = p.spread;
    row.decode_ms = d.mean, row.decode_spread = d.spread;
    if (first.passed < 0) continue;
    row.passed = 0;
    for (const BaselineResult* r : row.results) row.passed += r->passed;
    const MeanSpread s = meanSpread(row.results, [](const BaselineResult& r) { return double(r.passed); });
    row.pass_mean = s.mean, row.pass_spread = s.spread;
  }
  return rows;
}

}  // namespace flux::ui
