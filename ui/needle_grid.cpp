#include "ui/needle_grid.h"

#include "engine/core/error.h"
#include "engine/runtime/answer_check.h"

namespace flux::ui {

const NeedleCell* NeedleGrid::cell(const std::string& route, int context, int depth) const {
  for (const NeedleCell& c : cells)
    if (c.route == route && c.context == context && c.depth == depth) return &c;
  return nullptr;
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
  static const std::vector<std::string> names = {"router", "fa", "sa:streaming", "sa:triangle", "sa:xattn"};
  return names;
}

engine::RouteSpec needleRouteSpec(const std::string& route, const engine::RouteSpec& plan) {
  if (route == "plan") return plan;
  engine::RouteSpec spec = plan;
  spec.overrides.clear();
  if (route == "router" || route == "fa") {
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
    engine::fail("needle grid: unknown route '{}' (router, fa, sa:streaming, sa:triangle, sa:xattn, plan)", route);
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
                     {"status", c.status}});
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
      g.cells.push_back(std::move(cell));
    }
    return g;
  } catch (const nlohmann::json::exception& e) {
    engine::fail("not a FluxScope needle grid ({})", e.what());
  }
}

}  // namespace flux::ui
