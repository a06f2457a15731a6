// The only bridge between the GUI and the engine: a QObject living on its own QThread that owns the Engine.
// Requests arrive as queued slot calls, results leave as signals carrying plain value types; the GUI never blocks.
#pragma once

#include <QObject>
#include <QString>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <vector>

#include "engine/runtime/engine.h"
#include "ui/comparison_baselines.h"
#include "ui/needle_grid.h"

Q_DECLARE_METATYPE(flux::engine::RunReport)
Q_DECLARE_METATYPE(flux::engine::LayerReport)
Q_DECLARE_METATYPE(flux::engine::TokenReport)
Q_DECLARE_METATYPE(flux::engine::ModelSummary)
Q_DECLARE_METATYPE(flux::engine::MemoryReport)

namespace flux::ui {

// The Layer Router the loaded model came with (a plain value for the GUI thread).
struct RouterInfo {
  QString source;  // its file, "checkpoint", or empty: the model has no router
  float threshold = 0.5f;
  engine::RouteDefaults defaults;  // FA / SA / decode the router (or checkpoint) was trained for
  engine::AttentionPlan sparse;    // = defaults.sparse
  QString description;             // family, pooling, decision rule (engine::describe_router)
  bool flux_family = false;        // scores FA (Flux) rather than SA (Elastic)
  bool present() const { return !source.isEmpty(); }
  // "router: <file name>" / "router: checkpoint" / "router: none" for the model summary.
  QString label() const;
};

}  // namespace flux::ui

Q_DECLARE_METATYPE(flux::engine::RunRequest)
Q_DECLARE_METATYPE(flux::ui::RouterInfo)
Q_DECLARE_METATYPE(flux::ui::NeedleGridSpec)
Q_DECLARE_METATYPE(flux::ui::NeedleCell)
Q_DECLARE_METATYPE(flux::ui::NeedleGrid)
Q_DECLARE_METATYPE(flux::ui::BaselineResult)
Q_DECLARE_METATYPE(std::vector<flux::ui::BaselineRoute>)

namespace flux::ui {

class EngineWorker : public QObject {
  Q_OBJECT
 public:
  EngineWorker();
  ~EngineWorker() override;
  static void registerTypes();
  // Safe from any thread: asks the current load or run to stop at the next layer or token.
  void cancel() { cancel_.store(true); }
  // Called on the GUI thread right before a load or run is queued, so a Stop pressed before the worker picks the
  // request up still cancels it (the slots never clear the flag themselves).
  void arm() { cancel_.store(false); }
  // Where the next loads look for a router shipped for the model (empty: the engine's default dirs). Tests point
  // it at a temp resources dir; safe from any thread.
  void setRouterDirs(const std::vector<std::filesystem::path>& dirs);
  // CPU threads (0 = all cores) and context (0 = the model's) of the next loads; safe from any thread.
  void setLoadSettings(int threads, int context_length);
  // Directories every new worker starts with (tests set an empty dir so the real shipped router stays out).
  static void setDefaultRouterDirs(const std::vector<std::filesystem::path>& dirs);

 public slots:
  // On failure the model loaded before stays loaded (and usable): the new one replaces it only once it is ready.
  void loadModel(const QString& path, const QString& backend);
  void run(const flux::engine::RunRequest& request);
  // Counts the prompt's tokens as the model would see them (chat template, BOS); answers with tokensCounted.
  // `ticket` lets the GUI drop stale answers.
  void countTokens(int ticket, const QString& prompt, bool chat, const QString& system_prompt, bool parse_special);
  // The memory the request's run would hold (Engine::estimate_memory); answers with memoryEstimated.
  void estimateMemory(int ticket, const flux::engine::RunRequest& request);
  // The needle grid (engine_worker_needle.cpp): every context × depth × route cell of `spec` as a run of `base`
  // (its settings; its route is the grid's "plan" route), the filler sized with the tokenizer to each context.
  // cancel() stops it like a run: the grid ends with the cells that finished, marked cancelled.
  void runNeedleGrid(const flux::ui::NeedleGridSpec& spec, const flux::engine::RunRequest& base);
  // The comparison's baselines (engine_worker_baselines.cpp): each route as a run of `base`, one after the other;
  // `answer` (may be empty) scores them. cancel() stops it like a run, keeping the results that finished.
  void runBaselines(const std::vector<flux::ui::BaselineRoute>& routes, const flux::engine::RunRequest& base,
                    const QString& answer);

 signals:
  void loadProgress(double fraction, const QString& what);
  // Emitted right before modelLoaded, for every successful load.
  void routerLoaded(const flux::ui::RouterInfo& router);
  void modelLoaded(const flux::engine::ModelSummary& summary);
  void runStarted(const flux::engine::RunReport& header);
  void layerPrefilled(const flux::engine::LayerReport& layer);
  void tokenDecoded(int index, const flux::engine::TokenReport& token);
  void runFinished(const flux::engine::RunReport& report);
  void failed(const QString& message);
  // ms: how long the tokenizer took (the chat template included).
  void tokensCounted(int ticket, int tokens, int context_length, double ms);
  // error: empty when the estimate is valid, else why there is none (e.g. the prompt is empty or too long).
  void memoryEstimated(int ticket, const flux::engine::MemoryReport& estimate, const QString& error);
  // done = cells finished so far (this one included) of total.
  void needleCellFinished(int done, int total, const flux::ui::NeedleCell& cell);
  void needleGridFinished(const flux::ui::NeedleGrid& grid);
  void baselineFinished(int done, int total, const flux::ui::BaselineResult& result);
  // error: why the baselines stopped early when they were not cancelled (empty: all ran, or cancelled).
  void baselinesFinished(bool cancelled, const QString& error);

 private:
  std::unique_ptr<engine::Engine> engine_;
  std::atomic<bool> cancel_{false};
  std::mutex dirs_mutex_;
  std::vector<std::filesystem::path> router_dirs_;
  int threads_ = 0;
  int context_length_ = 0;
};

}  // namespace flux::ui
