// EngineWorker::runNeedleGrid: the needle grid's runs on the worker thread (never the GUI's), one cell at a time.
#include <algorithm>
#include <climits>
#include <cmath>

#include "engine/core/error.h"
#include "engine/routing/matched_baselines.h"
#include "engine/routing/router_files.h"
#include "ui/engine_worker.h"
#include "ui/haystack_prompt.h"

namespace flux::ui {
namespace {

// The filler length (words) whose prompt comes closest to `target` tokens as the model counts them (chat template
// included): a few proportional steps from ~1.35 tokens per word, the needle at mid depth.
int fillerWords(const engine::Engine& engine, int target, const engine::RunSettings& settings, int seed,
                const std::atomic<bool>& cancel) {
  int words = std::max(8, int(target / 1.35));
  int best_words = words, best_diff = INT_MAX;
  for (int step = 0; step < 6 && !cancel.load(); ++step) {
    const int n = int(engine.tokenize_prompt(makeHaystackPrompt(words, 0.5, seed).text.toStdString(), settings).size());
    if (std::abs(n - target) < best_diff) best_diff = std::abs(n - target), best_words = words;
    if (best_diff <= std::max(4, target / 100)) break;
    words = std::max(8, int(std::lround(words * double(target) / std::max(1, n))));
  }
  return best_words;
}

void validate(const NeedleGridSpec& spec, const engine::Engine& engine) {
  engine::require(!spec.contexts.empty() && !spec.depths.empty() && !spec.routes.empty(),
                  "the needle grid needs at least one context, one depth and one route");
  for (int c : spec.contexts)
    engine::require(c >= 64 && c + spec.max_new_tokens < engine.context_length(),
                    "a needle context of {} tokens does not fit: it must be at least 64 and, with {} new tokens, "
                    "below the model's context of {} tokens (the ctx control raises it)",
                    c, spec.max_new_tokens, engine.context_length());
  for (int d : spec.depths) engine::require(d >= 0 && d <= 100, "a needle depth must be 0-100 %, not {}", d);
  const bool has_router_route = std::find(spec.routes.begin(), spec.routes.end(), "router") != spec.routes.end();
  for (const std::string& r : spec.routes) {
    engine::require(r != "router" || engine.router() != nullptr,
                    "the route 'router' needs a model with a layer router; this model has none");
    engine::require(!needleRouteIsMatched(r) || has_router_route,
                    "the route '{}' runs at the router's SA share on each prompt: add the route 'router'", r);
  }
  engine::require(spec.max_new_tokens >= 1, "the needle grid needs at least one new token per cell");
  engine::require(spec.random_seeds >= 1, "random:match needs at least one seed, not {}", spec.random_seeds);
}

// The router files of the "router-file:PATH" routes, loaded and checked against the model once (named by path).
void loadRouterFiles(const NeedleGridSpec& spec, engine::Engine& engine, engine::RouterFiles& files) {
  for (const std::string& r : spec.routes)
    if (const std::string path = needleRouteRouterFile(r); !path.empty()) files.load(engine, path, path);
}

}  // namespace

void EngineWorker::runNeedleGrid(const NeedleGridSpec& spec, const engine::RunRequest& base) {
  NeedleGrid grid;
  grid.spec = spec;
  grid.started_at = engine::iso8601_now();
  if (!engine_) {
    emit failed(tr("Load a model first."));
    return;
  }
  engine::RouterFiles routers;
  try {
    validate(spec, *engine_);
    grid.model_name = engine_->summary().name;
    for (const std::string& r : spec.routes) grid.route_specs.push_back(needleRouteDescription(r, base.route));
    loadRouterFiles(spec, *engine_, routers);
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
    return;
  }
  const int n_layers = engine_->config().n_layers;
  const int total = spec.cellCount();
  bool cancelled = false;
  // The fixed routes first (in the listed order), then the matched baselines at the router's share on this prompt.
  std::vector<std::string> order;
  for (const std::string& r : spec.routes)
    if (!needleRouteIsMatched(r)) order.push_back(r);
  for (const std::string& r : spec.routes)
    if (needleRouteIsMatched(r)) order.push_back(r);
  try {
    for (int context : spec.contexts) {
      const int words = fillerWords(*engine_, context, base.settings, spec.seed, cancel_);
      for (int depth : spec.depths) {
        const HaystackPrompt prompt = makeHaystackPrompt(words, depth / 100.0, spec.seed);
        double router_sa = 0.0;  // the router's SA fraction on this prompt (it runs before the matched routes)
        // One cell; false when the grid stops (cancelled or failed).
        auto runCell = [&](const std::string& route, const engine::RouteSpec& route_spec, int seed) {
          if (cancel_.load()) cancelled = true;
          if (cancelled || !grid.error.empty()) return false;
          engine::RunRequest request = base;
          request.prompt = prompt.text.toStdString();
          request.settings.max_new_tokens = spec.max_new_tokens;
          request.route = route_spec;
          request.record_block_masks = false;  // the grid keeps scores and times, not masks
          const engine::RunReport report = routers.run_under(*engine_, needleRouteRouterFile(route),
                                                             [&] { return engine_->run(request, nullptr, &cancel_); });
          if (report.status != "ok") {  // cancelled mid-cell (that cell did not finish) or failed
            if (cancel_.load())
              cancelled = true;
            else
              grid.error = report.error.empty() ? report.status : report.error;
            return false;
          }
          if (grid.backend.empty()) grid.backend = report.backend;
          NeedleCell cell;
          cell.route = route;
          cell.context = context;
          cell.depth = depth;
          cell.seed = seed;
          cell.route_spec = engine::describe(route_spec);
          cell.prompt_tokens = report.prompt_tokens;
          cell.answer = prompt.answer.toStdString();
          cell.output = report.output_text;
          cell.passed = needleAnswerFound(cell.output, cell.answer);
          cell.prefill_ms = report.summary.prefill_ms;
          cell.sa_fraction = report.summary.sa_fraction;
          if (route == "router") router_sa = cell.sa_fraction;
          grid.cells.push_back(cell);
          emit needleCellFinished(int(grid.cells.size()), total, cell);
          return true;
        };
        bool go = true;
        for (const std::string& route : order) {
          if (!go) break;
          const int k = needleRouteIsMatched(route) ? engine::matched_sa_layers(router_sa, n_layers) : 0;
          if (route == "random:match") {
            const auto sets = engine::random_match_sets(n_layers, k, spec.random_seeds);
            for (std::size_t i = 0; i < sets.size() && go; ++i)
              go = runCell(route, needleRouteSpec(route, base.route, sets[i]), int(i) + 1);
          } else {
            const std::vector<int> layers = route == "first-k:match" ? engine::first_k_match_layers(n_layers, k)
                                                                     : std::vector<int>{};
            go = runCell(route, needleRouteSpec(route, base.route, layers), 0);
          }
        }
        if (!go) break;
      }
      if (cancelled || cancel_.load() || !grid.error.empty()) break;
    }
  } catch (const std::exception& e) {
    grid.error = e.what();
  }
  grid.cancelled = grid.error.empty() && (cancelled || cancel_.load());
  emit needleGridFinished(grid);
}

}  // namespace flux::ui
