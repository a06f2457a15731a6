// EngineWorker::runBaselines: the comparison's baselines on the worker thread (never the GUI's), one run at a time.
#include "engine/core/error.h"
#include "engine/routing/router_files.h"
#include "ui/engine_worker.h"

namespace flux::ui {

void EngineWorker::runBaselines(const std::vector<BaselineRoute>& routes, const engine::RunRequest& base,
                                const QString& answer) {
  bool cancelled = false;
  std::string error;
  try {
    engine::require(engine_ != nullptr, "Load a model first.");
    engine::RouterFiles routers;  // the previous router's file, checked against the model before the first run
    for (const BaselineRoute& r : routes)
      if (const std::string path = needleRouteRouterFile(r.name); !path.empty()) routers.load(*engine_, path, path);
    int done = 0;
    for (const BaselineRoute& r : routes) {
      if (cancel_.load()) {
        cancelled = true;
        break;
      }
      engine::RunRequest request = base;
      request.route = r.route;
      request.record_block_masks = false;  // the baselines keep times and outputs, not masks
      const engine::RunReport report = routers.run_under(*engine_, needleRouteRouterFile(r.name),
                                                         [&] { return engine_->run(request, nullptr, &cancel_); });
      if (report.status != "ok") {  // cancelled mid-run (that run did not finish) or failed
        cancelled = cancel_.load();
        if (!cancelled) error = report.error.empty() ? report.status : report.error;
        break;
      }
      emit baselineFinished(++done, int(routes.size()), baselineResult(r.name, r.seed, report, answer.toStdString()));
    }
  } catch (const std::exception& e) {
    error = e.what();
  }
  emit baselinesFinished(cancelled && error.empty(), QString::fromStdString(error));
}

}  // namespace flux::ui
