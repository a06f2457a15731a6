// EngineWorker::runNeedleGrid: the needle grid's runs on the worker thread (never the GUI's), one cell at a time.
#include <climits>
#include <cmath>

#include "engine/core/error.h"
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
  for (const std::string& r : spec.routes)
    engine::require(r != "router" || engine.router() != nullptr,
                    "the route 'router' needs a model with a layer router; this model has none");
  engine::require(spec.max_new_tokens >= 1, "the needle grid needs at least one new token per cell");
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
  try {
    validate(spec, *engine_);
    grid.model_name = engine_->summary().name;
    for (const std::string& r : spec.routes)
      grid.route_specs.push_back(engine::describe(needleRouteSpec(r, base.route)));
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
    return;
  }
  const int total = spec.cellCount();
  try {
    for (int context : spec.contexts) {
      const int words = fillerWords(*engine_, context, base.settings, spec.seed, cancel_);
      for (int depth : spec.depths) {
        const HaystackPrompt prompt = makeHaystackPrompt(words, depth / 100.0, spec.seed);
        for (std::size_t r = 0; r < spec.routes.size(); ++r) {
          if (cancel_.load() || !grid.error.empty()) break;
          engine::RunRequest request = base;
          request.prompt = prompt.text.toStdString();
          request.settings.max_new_tokens = spec.max_new_tokens;
          request.route = needleRouteSpec(spec.routes[r], base.route);
          request.record_block_masks = false;  // the grid keeps scores and times, not masks
          const engine::RunReport report = engine_->run(request, nullptr, &cancel_);
          if (report.status != "ok") {  // cancelled mid-cell (that cell did not finish) or failed
            if (!cancel_.load()) grid.error = report.error.empty() ? report.status : report.error;
            break;
          }
          if (grid.backend.empty()) grid.backend = report.backend;
          NeedleCell cell;
          cell.route = spec.routes[r];
          cell.context = context;
          cell.depth = depth;
          cell.prompt_tokens = report.prompt_tokens;
          cell.answer = prompt.answer.toStdString();
          cell.output = report.output_text;
          cell.passed = needleAnswerFound(cell.output, cell.answer);
          cell.prefill_ms = report.summary.prefill_ms;
          cell.sa_fraction = report.summary.sa_fraction;
          grid.cells.push_back(cell);
          emit needleCellFinished(int(grid.cells.size()), total, cell);
        }
        if (cancel_.load() || !grid.error.empty()) break;
      }
      if (cancel_.load() || !grid.error.empty()) break;
    }
  } catch (const std::exception& e) {
    grid.error = e.what();
  }
  grid.cancelled = grid.error.empty() && int(grid.cells.size()) < total;
  emit needleGridFinished(grid);
}

}  // namespace flux::ui
