// The FluxScope main window: prompt and output in the centre, docks for the layer map, timing charts, run history and
// run comparison; menus, settings, drag and drop. Everything engine-side goes through EngineWorker on its own thread.
#pragma once

#include <QElapsedTimer>
#include <QMainWindow>
#include <QThread>

#include <filesystem>
#include <vector>

#include "engine/runtime/engine.h"
#include "ui/engine_worker.h"
#include "ui/run_store.h"

class QAction;
class QActionGroup;
class QDockWidget;
class QLabel;
class QListView;
class QMenu;
class QPlainTextEdit;
class QProgressBar;
class QThreadPool;
class QTimer;

namespace flux::ui {

class AttentionMapPanel;
class ComparisonView;
class EngineWorker;
class LayerMapWidget;
class LayerTableModel;
class MemoryPanel;
class NeedleGridView;
class RunControls;
class RunHistoryModel;
class TimingCharts;
class TokenOutputView;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  MainWindow();
  ~MainWindow() override;

  void openModel(const QString& path);
  // Opens the model of the last session (QSettings "lastModel") when it still exists; false when there is none.
  bool openLastModel();
  // "auto", "cpu" or "cuda": the backend of the next model load (File → Backend; saved in the settings).
  void setBackend(const QString& backend);
  QString backend() const;
  void openPromptFile(const QString& path);
  void setPrompt(const QString& text);
  void startRun();
  void stopRun();
  // Runs the same configuration n times (Run → Repeat…); the history keeps them as one entry (median, min–max).
  void startRepeat(int n);
  // The run the prompt, the run settings and the layer map's plan describe (what Run, the memory estimate and the
  // needle grid's "plan" route all start from).
  engine::RunRequest currentRequest() const;
  // Tools → Needle Sweep… (main_window_needle.cpp): runs the grid on the worker (Stop cancels it), shows it in the
  // Needle grid dock and saves it in the runs folder.
  void startNeedleGrid(const NeedleGridSpec& spec);
  // "Compare with baselines…" without the dialog: the baselines of the selected run (two selected: the newer, B;
  // none: the newest run) on the worker, shown in the Comparison dock (main_window_baselines.cpp).
  void startBaselines(const BaselineOptions& options);
  // Shows a saved grid file in the Needle grid dock (File → Open Needle Grid…); the error, empty on success.
  QString openNeedleGridFile(const QString& path);
  NeedleGridView* needleGrid() const { return needle_view_; }
  QDockWidget* needleGridDock() const { return needle_dock_; }
  // Loads a saved JSON report into the history (File → Open Report…): the JSON is parsed (and the copy for the runs
  // folder written) on a pool thread, the window only adds and shows the entry; reportOpened tells when. The
  // waiting form (scripts, tests) keeps the event loop running and returns the error, empty on success.
  void openReportFileAsync(const QString& path);
  QString openReportFile(const QString& path);
  // Whether the runs folder has been read (on a pool thread at start; historyLoaded says when).
  bool historyReady() const { return history_ready_; }
  // Entries kept from the runs folder at start (QSettings "runs/keep", default 200): older run files are removed.
  static int keptRuns();
  // The routing plan as a file in the engine's route grammar (File → Save Route… / Load Route…): text
  // (parse_route_spec) or JSON (load_route_file) by extension; the error, empty on success.
  QString saveRouteTo(const QString& path);
  QString loadRouteFrom(const QString& path);
  // Where finished runs are kept (one JSON file each) and read from at start.
  const RunStore& runStore() const { return store_; }
  QAction* exportReportAction() const { return export_action_; }
  // Where the next model load looks for the router shipped for it (empty: the engine's default dirs).
  void setRouterDirs(const std::vector<std::filesystem::path>& dirs);
  // The router of the loaded model (source empty: none).
  const RouterInfo& router() const { return router_; }
  QLabel* modelLabel() const { return model_label_; }
  // Plan from script arguments: a preset ("router", "fa", "sa", "first-k:N", "every-other") and overrides
  // ("0-3=FA,7=SA"). Throws engine::Error on bad text; call after modelReady (the layer count must be known).
  void setRoute(const QString& preset, const QString& overrides);
  // Cancels a model load in progress (the Cancel button during a load); the app stays usable.
  void cancelLoad();
  bool isLoading() const { return loading_; }
  void copyOutput();
  // Exports the shown report by extension (.json/.csv/.html/.pdf); returns the error message, empty on success.
  QString exportReportTo(const QString& path);
  // Exports the comparison shown in the Comparison dock the same way; an error when no two runs are selected.
  QString exportComparisonTo(const QString& path);
  // Hides the needle at `depth_percent` of ~`words` words of filler and makes that the prompt (Tools menu).
  void useHaystackPrompt(int words, int depth_percent, int seed = 1);
  void setDark(bool dark);
  bool isDark() const;
  QString statusText() const;
  // Modal error dialogs (off for scripted runs and tests: errors still reach errorShown and the status bar).
  void setErrorDialogs(bool on) { error_dialogs_ = on; }

  bool isRunning() const { return running_; }
  LayerTableModel* layerModel() const { return layer_model_; }
  LayerMapWidget* layerMap() const { return layer_map_; }
  TimingCharts* charts() const { return charts_; }
  AttentionMapPanel* attentionMap() const { return attention_; }
  MemoryPanel* memoryPanel() const { return memory_; }
  RunHistoryModel* history() const { return history_model_; }
  QListView* historyView() const { return history_view_; }
  ComparisonView* comparison() const { return comparison_; }
  RunControls* runControls() const { return controls_; }
  TokenOutputView* output() const { return output_; }
  QPlainTextEdit* prompt() const { return prompt_; }
  QProgressBar* progress() const { return progress_; }
  QLabel* tokenCount() const { return token_count_; }
  const engine::RunRequest& lastRequest() const { return last_request_; }
  void log(const QString& line);
  // Versions, platform, CPU and the loaded model, for bug reports (Help → Copy Diagnostics).
  QString diagnostics() const;

 signals:
  void modelReady();
  void runCompleted(const flux::engine::RunReport& report);
  void errorShown(const QString& message);
  void loadCancelled();
  // tokenize_ms: the tokenizer's own time on the worker thread.
  void promptTokensCounted(int tokens, int context_length, double tokenize_ms);
  void requestLoad(const QString& path, const QString& backend);
  void requestRun(const flux::engine::RunRequest& request);
  void requestCount(int ticket, const QString& prompt, bool chat, const QString& system_prompt, bool parse_special);
  void requestEstimate(int ticket, const flux::engine::RunRequest& request);
  void requestNeedleGrid(const flux::ui::NeedleGridSpec& spec, const flux::engine::RunRequest& base);
  // A needle grid ended (finished, cancelled or stopped by an error) and was saved at path (empty: not saved).
  void needleGridCompleted(const flux::ui::NeedleGrid& grid, const QString& path);
  void requestBaselines(const std::vector<flux::ui::BaselineRoute>& routes, const flux::engine::RunRequest& base,
                        const QString& answer);
  // The baselines ended: all ran, cancelled (the finished ones kept) or stopped by error.
  void baselinesCompleted(bool cancelled, const QString& error);
  void reportOpened(const QString& path, const QString& error);
  void historyLoaded(int entries);

 protected:
  void closeEvent(QCloseEvent* event) override;
  void dragEnterEvent(QDragEnterEvent* event) override;
  void dropEvent(QDropEvent* event) override;

 private:
  void buildCentre();
  void buildDocks();
  void buildMenus();
  void connectWorker();
  void restoreSettings();
  void saveSettings();
  void rememberModel(const QString& path);
  void rebuildRecent();
  void applyDark(bool dark);
  void scheduleCount();
  // Asks the worker for the memory estimate of the run the current prompt, settings and plan would make.
  void estimateMemory();
  void showHistorySelection();
  void showReport(const engine::RunReport& report);
  void exportReportDialog();
  void exportChartsDialog();
  void exportComparisonDialog();
  void haystackDialog();
  void addBackendMenu(QMenu* file);
  void showLog();
  void addSamplesMenu(QMenu* tools);
  void onLoadProgress(double fraction, const QString& what);
  void endLoad();
  // Issue-15 additions (main_window_run.cpp): run files, repeats, reloads, the header of the last run.
  void loadHistory();
  void addToHistory(const RunEntry& entry, bool persist);
  void reloadModel();
  void updateHeader(const engine::RunReport* last_run);
  void logError(const QString& line);
  void openReportDialog();
  void saveRouteDialog();
  void loadRouteDialog();
  void repeatDialog();
  void needleGridDialog();
  void openNeedleGridDialog();
  void connectNeedleGrid();
  void onNeedleCell(int done, int total, const NeedleCell& cell);
  void onNeedleGrid(const NeedleGrid& grid);
  void connectBaselines();
  void baselinesDialog();
  const RunEntry* baselineSubject() const;

  void onModelLoaded(const engine::ModelSummary& summary);
  void onStarted(const engine::RunReport& header);
  void onLayer(const engine::LayerReport& layer);
  void onToken(int index, const engine::TokenReport& token);
  void onFinished(const engine::RunReport& report);
  void onFailed(const QString& message);
  void onCounted(int ticket, int tokens, int context_length, double ms);
  void setBusy(bool busy);

  QThread thread_;
  EngineWorker* worker_ = nullptr;
  LayerTableModel* layer_model_ = nullptr;
  LayerMapWidget* layer_map_ = nullptr;
  TimingCharts* charts_ = nullptr;
  AttentionMapPanel* attention_ = nullptr;  // issue 15 point 1: the block mask heatmap
  MemoryPanel* memory_ = nullptr;           // issue 15 point 2: estimated and measured memory
  int estimate_ticket_ = 0;
  RunHistoryModel* history_model_ = nullptr;
  QListView* history_view_ = nullptr;
  ComparisonView* comparison_ = nullptr;
  QDockWidget* comparison_dock_ = nullptr;
  RunControls* controls_ = nullptr;
  QLabel* model_label_ = nullptr;
  QPlainTextEdit* prompt_ = nullptr;
  TokenOutputView* output_ = nullptr;
  QProgressBar* progress_ = nullptr;
  QLabel* token_count_ = nullptr;
  QTimer* count_timer_ = nullptr;
  QAction* run_action_ = nullptr;
  QAction* stop_action_ = nullptr;
  QAction* export_action_ = nullptr;
  QAction* dark_action_ = nullptr;
  QAction* copy_output_action_ = nullptr;
  QAction* export_comparison_action_ = nullptr;
  QActionGroup* backend_group_ = nullptr;
  QMenu* view_menu_ = nullptr;
  QMenu* recent_menu_ = nullptr;
  RouterInfo router_;
  engine::RunRequest last_request_;
  engine::RunReport shown_report_;
  QElapsedTimer prefill_clock_;
  bool has_report_ = false;
  bool model_loaded_ = false;
  bool running_ = false;
  bool loading_ = false;
  bool load_cancel_requested_ = false;
  bool error_dialogs_ = true;
  int n_layers_ = 0;
  int count_ticket_ = 0;
  // The runs folder; the Repeat in progress (how many runs, those finished) and the prompt of the run; the loaded
  // model's summary and header (kept when another open fails) and the path being opened.
  RunStore store_;
  int repeat_total_ = 1;
  std::vector<engine::RunReport> repeat_runs_;
  std::string run_prompt_;
  engine::ModelSummary summary_;
  QString loaded_label_, loaded_tip_;
  QString loading_path_;
  QAction* repeat_action_ = nullptr;
  // Issue 15 point 6: the needle grid dock and whether a grid is running (running_ is set too).
  NeedleGridView* needle_view_ = nullptr;
  QDockWidget* needle_dock_ = nullptr;
  bool needle_running_ = false;
  bool baselines_running_ = false;  // issue 16 point 3: the comparison's baselines (running_ is set too)
  // Point 2: file work off the GUI thread (Open Report's parse and save, the runs folder at start).
  QThreadPool* io_pool_ = nullptr;
  bool history_ready_ = false;
};

}  // namespace flux::ui
