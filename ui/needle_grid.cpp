#include "ui/needle_grid.h"

#include <cmath>
#include <map>

#include "engine/core/error.h"
#include "engine/routing/matched_baselines.h"
#include "engine/runtime/answer_check.h"

namespace flux::ui {

int NeedleGridSpec::cellCount() const {
  int per_prompt = 0;
  for (const std::string& r : routes) per_prompt += r == "random:match" ? random_seeds : 1;
  return int(contexts.size() * depths.size()) * per_prompt;
}

const NeedleCell* NeedleGrid::cell(const std::string& route, int context, int depth) const {
  for (const NeedleCell& c : cells)
    if (c.route == route && c.context == context && c.depth == depth) return &c;
  return nullptr;
}

std::vector<const NeedleCell*> NeedleGrid::cellsAt(const std::string& route, int context, int depth) const {
  std::vector<const NeedleCell*> out;
  for (const NeedleCell& c : cells)
    if (c.route == route && c.context == context && c.depth == depth) out.push_back(&c);
  return out;
}

NeedleGrid::SeedSpread NeedleGrid::seedSpread(const std::string& route) const {
  std::map<int, int> per_seed;  // seed → passes
  for (const NeedleCell& c : cells)
    if (c.route == route) per_seed[c.seed] += c.passed;
  SeedSpread s;
  s.seeds = int(per_seed.size());
  if (s.seeds == 0) return s;
  for (const auto& [seed, n] : per_seed) s.mean += n;
  s.mean /= s.seeds;
  if (s.seeds > 1) {
    double ss = 0.0;
    for (const auto& [seed, n] : per_seed) ss += (n - s.mean) * (n - s.mean);
    s.spread = std::sqrt(ss / (s.seeds - 1));
  }
  return s;
}

int NeedleGrid::passed(const std::string& route) const {
  int n = 0;
  for (const NeedleCell& c : cells) n += c.route == route && c.passed;
  return n;
}

int NeedleGrid::ran(const std::string& route) const {
  int n = 0;
  for (const NeedleCell& c : cells) n += c.route == route;
  return n;
}

double NeedleGrid::saFraction(const std::string& route) const {
  double sum = 0.0;
  int n = 0;
  for (const NeedleCell& c : cells)
    if (c.route == route) sum += c.sa_fraction, ++n;
  return n > 0 ? sum / n : 0.0;
}

bool needleAnswerFound(const std::string& output, const std::string& answer) {
  return engine::answer_in_output(output, answer);
}

const std::vector<std::string>& needleRouteNames() {
  static const std::vector<std::string> names = {"router",   "fa",          "sa:streaming", "sa:triangle",
                                                 "sa:xattn", "first-k:match", "random:match"};
  return names;
}

namespace {

constexpr std::string_view kFilePrefix = "file:", kRouterFilePrefix = "router-file:";

}  // namespace

bool needleRouteIsMatched(const std::string& route) {
  return route == "first-k:match" || route == "random:match";
}

std::string needleRouteRouterFile(const std::string& route) {
  return route.starts_with(kRouterFilePrefix) ? route.substr(kRouterFilePrefix.size()) : std::string();
}

std::string needleRouteDescription(const std::string& route, const engine::RouteSpec& plan) {
  if (route == "first-k:match") return "fa, the last round(f·L) layers SA; f = the router's SA fraction on the prompt";
  if (route == "random:match")
    return "fa, round(f·L) random layers SA (one set per seed); f = the router's SA fraction on the prompt";
  const std::string text = engine::describe(needleRouteSpec(route, plan));
  const std::string router = needleRouteRouterFile(route);
  return router.empty() ? text : text + " (router " + router + ")";
}

engine::RouteSpec needleRouteSpec(const std::string& route, const engine::RouteSpec& plan,
                                  const std::vector<int>& sa_layers) {
  if (route == "plan") return plan;
  if (route.starts_with(kFilePrefix)) return engine::load_route_file(route.substr(kFilePrefix.size()));
  if (needleRouteIsMatched(route)) return engine::forced_sa_route(plan, sa_layers);
  engine::RouteSpec spec = plan;
  spec.overrides.clear();
  if (route == "router" || !needleRouteRouterFile(route).empty()) {
    spec.preset = "router";
    return spec;
  }
  if (route == "fa") {
    spec.preset = route;
    return spec;
  }
  spec.preset = "sa";
  if (route == "sa:streaming")
    spec.sa_kind = engine::AttentionMode::Streaming;
  else if (route == "sa:triangle")
    spec.sa_kind = engine::AttentionMode::Triangle;
  else if (route == "sa:xattn")
    spec.sa_kind = engine::AttentionMode::XAttention;
  else
    engine::fail(
        "needle grid: unknown route '{}' (router, fa, sa:streaming, sa:triangle, sa:xattn, plan, first-k:match, "
        "random:match, file:ROUTE_FILE, router-file:ROUTER_FILE)",
        route);
  return spec;
}

nlohmann::json needleGridToJson(const NeedleGrid& g) {
  nlohmann::json cells = nlohmann::json::array();
  for (const NeedleCell& c : g.cells)
    cells.push_back({{"route", c.route},
                     {"context", c.context},
                     {"depth", c.depth},
                     {"prompt_tokens", c.prompt_tokens},
                     {"answer", c.answer},
                     {"output", c.output},
                     {"passed", c.passed},
                     {"prefill_ms", c.prefill_ms},
                     {"sa_fraction", c.sa_fraction},
                     {"status", c.status},
                     {"seed", c.seed},
                     {"route_spec", c.route_spec}});
  return {{"kind", "fluxscope-needle-grid"},
          {"version", 1},
          {"started_at", g.started_at},
          {"model_name", g.model_name},
          {"backend", g.backend},
          {"cancelled", g.cancelled},
          {"error", g.error},
          {"contexts", g.spec.contexts},
          {"depths", g.spec.depths},
          {"routes", g.spec.routes},
          {"route_specs", g.route_specs},
          {"max_new_tokens", g.spec.max_new_tokens},
          {"seed", g.spec.seed},
          {"random_seeds", g.spec.random_seeds},
          {"cells", cells}};
}

NeedleGrid needleGridFromJson(const nlohmann::json& j) {
  engine::require(j.is_object() && j.value("kind", "") == "fluxscope-needle-grid",
                  "not a FluxScope needle grid (no \"kind\": \"fluxscope-needle-grid\")");
  try {
    NeedleGrid g;
    g.started_at = j.value("started_at", "");
    g.model_name = j.value("model_name", "");
    g.backend = j.value("backend", "");
    g.cancelled = j.value("cancelled", false);
    g.error = j.value("error", "");
    g.spec.contexts = j.at("contexts").get<std::vector<int>>();
    g.spec.depths = j.at("depths").get<std::vector<int>>();
    g.spec.routes = j.at("routes").get<std::vector<std::string>>();
    g.route_specs = j.value("route_specs", std::vector<std::string>{});
    g.spec.max_new_tokens = j.value("max_new_tokens", 16);
    g.spec.seed = j.value("seed", 1);
    g.spec.random_seeds = j.value("random_seeds", 3);
    for (const auto& c : j.at("cells")) {
      NeedleCell cell;
      cell.route = c.at("route").get<std::string>();
      cell.context = c.at("context").get<int>();
      cell.depth = c.at("depth").get<int>();
      cell.prompt_tokens = c.value("prompt_tokens", 0);
      cell.answer = c.at("answer").get<std::string>();
      cell.output = c.value("output", "");
      cell.passed = c.at("passed").get<bool>();
      cell.prefill_ms = c.value("prefill_ms", 0.0);
      cell.sa_fraction = c.value("sa_fraction", 0.0);
      cell.status = c.value("status", "ok");
      cell.seed = c.value("seed", 0);
      cell.route_spec = c.value("route_spec", "");
      g.cells.push_back(std::move(cell));
    }
    return g;
  } catch (const nlohmann::json::exception& e) {
    engine::fail("not a FluxScope needle grid ({})", e.what());
  }
}

}  // namespace flux::ui
