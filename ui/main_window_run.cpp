// MainWindow's run side: loading, starting and stopping runs, the worker's events, history selection and exports.
#include <QAction>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QInputDialog>
#include <QItemSelectionModel>
#include <QLabel>
#include <QListView>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QSpinBox>
#include <QStatusBar>
#include <QTimer>
#include <QUuid>

#include <spdlog/spdlog.h>

#include "engine/core/error.h"
#include "engine/routing/route_spec.h"
#include "ui/comparison_baselines_panel.h"
#include "ui/comparison_export.h"
#include "ui/comparison_view.h"
#include "ui/engine_worker.h"
#include "ui/layer_map_widget.h"
#include "ui/layer_table_model.h"
#include "ui/load_error_text.h"
#include "ui/main_window.h"
#include "ui/progress_text.h"
#include "ui/report_export.h"
#include "ui/route_label.h"
#include "ui/run_controls.h"
#include "ui/run_history_model.h"
#include "ui/timing_charts.h"
#include "ui/token_output_view.h"
#include "ui/plain_message.h"

namespace flux::ui {

void MainWindow::openModel(const QString& path) {
  if (running_) stopRun();
  // The loaded model stays loaded (and its header shown) until the new one is ready: a failed open keeps it.
  loading_ = true;
  loading_path_ = path;
  load_cancel_requested_ = false;
  setBusy(false);
  if (!model_loaded_) model_label_->setText(tr("Loading %1…").arg(path.toHtmlEscaped()));  // a rich-text label
  progress_->setRange(0, 100);
  progress_->setValue(0);
  progress_->setFormat(tr("loading %p%"));
  progress_->setVisible(true);
  statusBar()->showMessage(tr("Loading %1…").arg(path));
  log(tr("Loading model %1").arg(path));
  worker_->setLoadSettings(controls_->threads()->value(), controls_->contextSize()->value());
  worker_->arm();
  emit requestLoad(path, backend());
}

void MainWindow::reloadModel() {
  // Context size and threads are load settings: reload the same model with them (prompt and history stay).
  if (!model_loaded_ || loading_) return;
  log(tr("Reloading with context %1, threads %2")
          .arg(controls_->contextSize()->value())
          .arg(controls_->threads()->value()));
  openModel(QString::fromStdString(summary_.path));
}

void MainWindow::cancelLoad() {
  if (!loading_) return;
  load_cancel_requested_ = true;
  worker_->cancel();
  statusBar()->showMessage(tr("Cancelling the load…"));
}

void MainWindow::onLoadProgress(double fraction, const QString& what) {
  if (!loading_) return;
  progress_->setValue(int(fraction * 100));
  statusBar()->showMessage(tr("Loading — %1").arg(what));
}

void MainWindow::endLoad() {
  loading_ = false;
  progress_->setVisible(false);
  setBusy(false);
}

void MainWindow::openPromptFile(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) {
    onFailed(tr("Cannot read the prompt file %1: %2").arg(path, f.errorString()));
    return;
  }
  setPrompt(QString::fromUtf8(f.readAll()));
  statusBar()->showMessage(tr("Prompt loaded from %1").arg(path), 3000);
}

void MainWindow::setPrompt(const QString& text) {
  prompt_->setPlainText(text);
}

void MainWindow::setRouterDirs(const std::vector<std::filesystem::path>& dirs) {
  worker_->setRouterDirs(dirs);
}

void MainWindow::setRoute(const QString& preset, const QString& overrides) {
  // Parse through the engine's own syntax so the GUI, the CLI and scripts agree.
  const bool router = preset == QStringLiteral("router");
  engine::require(!router || router_.present(), "route 'router': the model has no layer router");
  engine::RoutingPlan parsed =
      engine::make_preset_plan(router ? "fa" : preset.toStdString(), n_layers_, layer_model_->sparse());
  engine::apply_overrides(parsed, std::string_view(overrides.toStdString()));
  layer_map_->setPreset(preset);
  layer_model_->clearOverrides();
  for (int l = 0; l < int(parsed.layers.size()); ++l) {
    const engine::LayerRoute& r = parsed.layers[std::size_t(l)];
    if (r.source == engine::DecisionSource::Override) layer_model_->setOverride({l}, r.mode);
  }
}

void MainWindow::startRun() {
  startRepeat(controls_->repeat()->value());
}

void MainWindow::startRepeat(int n) {
  if (!model_loaded_ || running_ || loading_) return;
  const engine::RunRequest request = currentRequest();
  last_request_ = request;
  run_prompt_ = request.prompt;
  repeat_total_ = std::max(1, n);
  repeat_runs_.clear();
  progress_->setRange(0, n_layers_);
  progress_->setValue(0);
  progress_->setFormat(tr("prefill %v/%m"));
  progress_->setVisible(true);
  prefill_clock_.start();
  setBusy(true);
  statusBar()->showMessage(tr("Tokenizing…"));
  log(tr("Run: route %1, overrides '%2', max %3 tokens%4")
          .arg(QString::fromStdString(request.settings.route), QString::fromStdString(request.settings.overrides))
          .arg(request.settings.max_new_tokens)
          .arg(repeat_total_ > 1 ? tr(", repeat ×%1").arg(repeat_total_) : QString()));
  worker_->arm();
  emit requestRun(request);
}

void MainWindow::stopRun() {
  if (loading_) {
    cancelLoad();
    return;
  }
  if (!running_) return;
  worker_->cancel();
  statusBar()->showMessage(tr("Stopping…"));
}

void MainWindow::updateHeader(const engine::RunReport* last_run) {
  const engine::ModelSummary& s = summary_;
  // SA kind: what SA meant in the last run; before one, what it means on this model (the router's trained SA).
  const engine::AttentionPlan& sa = router_.present() ? router_.sparse : layer_model_->sparse();
  const QString kind = last_run ? tr("last run SA: %1").arg(attentionLabel(last_run->sparse))
                                : tr("SA kind %1").arg(QString::fromLatin1(engine::attention_mode_name(sa.mode)));
  model_label_->setText(tr("<b>%1</b> — %2, %3 layers, %4/%5 heads, context %6, %7 · <b>%8</b> · %9")
                            .arg(QString::fromStdString(s.name).toHtmlEscaped(),
                                 QString::fromStdString(s.config.architecture).toHtmlEscaped())
                            .arg(s.config.n_layers)
                            .arg(s.config.n_heads)
                            .arg(s.config.n_kv_heads)
                            .arg(last_run ? last_run->settings.context_length : s.config.context_length)
                            .arg(QString::fromStdString(s.quantization).toHtmlEscaped(),
                                 router_.label().toHtmlEscaped(), kind.toHtmlEscaped()));
  model_label_->setToolTip(router_.present() ? plainToolTip(tr("Layer router: %1\n%2").arg(router_.source, router_.description))
                                             : tr("This model has no layer router: the Router preset is not offered"));
  loaded_label_ = model_label_->text();
  loaded_tip_ = model_label_->toolTip();
}

void MainWindow::onModelLoaded(const engine::ModelSummary& s) {
  n_layers_ = s.config.n_layers;
  summary_ = s;
  updateHeader(nullptr);
  layer_model_->setLayerCount(n_layers_);
  // A model with a router starts on the Router preset with the SA it was trained for (as the CLI does).
  layer_map_->setRouter(router_.present(), router_.threshold, router_.flux_family);
  layer_map_->setDense(router_.present() ? router_.defaults.dense : engine::AttentionPlan{});
  if (router_.present()) layer_map_->setSparse(router_.sparse);
  layer_map_->setRouterAvailable(router_.present(), true);
  if (router_.present()) log(tr("Layer router: %1 — %2").arg(router_.source, router_.description));
  endLoad();
  statusBar()->showMessage(tr("Model loaded"), 3000);
  log(tr("Model loaded: %1 (%2 layers)").arg(QString::fromStdString(s.path)).arg(n_layers_));
  rememberModel(QString::fromStdString(s.path));
  model_loaded_ = true;
  setBusy(false);
  scheduleCount();
  emit modelReady();
}

void MainWindow::onStarted(const engine::RunReport& header) {
  // The engine accepted the run: only now clear what the last run showed (a refused run leaves it as it was).
  output_->clearTokens();
  layer_model_->beginRun();
  charts_->beginRun(n_layers_);
  prefill_clock_.start();  // tokenizing is done: the ETA extrapolates layer times only
  statusBar()->showMessage(tr("Prefilling %1 prompt tokens…").arg(header.prompt_tokens));
  token_count_->setText(tr("%1 / %2 tokens").arg(header.prompt_tokens).arg(header.settings.context_length));
}

void MainWindow::onLayer(const engine::LayerReport& l) {
  layer_model_->setLayerResult(l);
  charts_->addLayer(l);
  progress_->setValue(l.index + 1);
  statusBar()->showMessage(prefillProgressText(l.index + 1, n_layers_, double(prefill_clock_.elapsed())));
  if (l.index + 1 == n_layers_) {
    progress_->setRange(0, std::max(1, last_request_.settings.max_new_tokens));
    progress_->setValue(0);
    progress_->setFormat(tr("decode %v/%m"));
    statusBar()->showMessage(tr("Decoding…"));
  }
}

void MainWindow::onToken(int index, const engine::TokenReport& t) {
  output_->appendToken(t);  // appends at the end without re-laying out the whole document
  charts_->addToken(index, t);
  progress_->setValue(index + 1);
}

void MainWindow::onFinished(const engine::RunReport& r) {
  const bool ok = r.status == "ok";
  if (ok && int(repeat_runs_.size()) + 1 < repeat_total_) {
    // Repeat ×N: the same request again; the entry is added once all N are done.
    repeat_runs_.push_back(r);
    statusBar()->showMessage(tr("Repeat: run %1 of %2 done").arg(repeat_runs_.size()).arg(repeat_total_));
    log(tr("Repeat run %1/%2: prefill %3 ms, decode %4 ms/token")
            .arg(repeat_runs_.size())
            .arg(repeat_total_)
            .arg(r.summary.prefill_ms, 0, 'f', 1)
            .arg(r.summary.decode_ms_per_token, 0, 'f', 2));
    progress_->setRange(0, n_layers_);
    progress_->setValue(0);
    progress_->setFormat(tr("prefill %v/%m"));
    worker_->arm();
    emit requestRun(last_request_);
    return;
  }
  setBusy(false);
  progress_->setVisible(false);
  QString line;
  if (!ok && int(r.layers.size()) < n_layers_) {
    double done_ms = 0.0;
    for (const auto& l : r.layers) done_ms += l.prefill_ms;
    line = tr("Stopped during prefill after %1 of %2 layers (%3 ms of prefill ran) — prompt %4 tokens")
               .arg(r.layers.size())
               .arg(n_layers_)
               .arg(done_ms, 0, 'f', 1)
               .arg(r.prompt_tokens);
  } else {
    line = tr("%1 — prompt %2 tokens, TTFT %3 ms, prefill %4 tok/s, decode %5 tok/s%6")
               .arg(QString::fromStdString(r.status))
               .arg(r.prompt_tokens)
               .arg(r.summary.ttft_ms, 0, 'f', 1)
               .arg(r.summary.prefill_tokens_per_s, 0, 'f', 1)
               .arg(r.summary.decode_tokens_per_s, 0, 'f', 1)
               .arg(repeat_total_ > 1 ? tr(" (last of ×%1)").arg(repeat_runs_.size() + (ok ? 1 : 0)) : QString());
  }
  statusBar()->showMessage(line);
  log(line);
  // A Repeat keeps its finished runs as one entry; a stopped run of it is its own entry.
  if (ok) repeat_runs_.push_back(r);
  if (!repeat_runs_.empty()) {
    RunEntry entry{run_prompt_, repeat_runs_, {}};
    if (entry.size() > 1) entry.group = QUuid::createUuid().toString(QUuid::Id128).toStdString();
    addToHistory(entry, true);
  }
  if (!ok) addToHistory(RunEntry{run_prompt_, {r}, {}}, true);
  repeat_runs_.clear();
  repeat_total_ = 1;
  updateHeader(&r);
  {
    // Show the new run without re-emitting it through the selection handler.
    const QSignalBlocker block(history_view_->selectionModel());
    history_view_->selectionModel()->select(history_model_->index(history_model_->count() - 1),
                                            QItemSelectionModel::ClearAndSelect);
  }
  history_view_->viewport()->update();
  showReport(r);
  scheduleCount();  // the memory estimate of the next run (skipped while this one ran)
  emit runCompleted(r);
}

void MainWindow::onFailed(const QString& message) {
  if (loading_ && load_cancel_requested_) {
    endLoad();
    if (model_loaded_) {
      model_label_->setText(loaded_label_);
      model_label_->setToolTip(loaded_tip_);
    } else {
      model_label_->setText(tr("No model loaded — loading was cancelled"));
    }
    statusBar()->showMessage(tr("Loading cancelled"), 5000);
    log(tr("Loading cancelled"));
    emit loadCancelled();
    return;
  }
  QString text;
  if (loading_) {
    // The engine's text goes to the log; the dialog says what to do in the app. The loaded model stays.
    logError(tr("Opening %1 failed: %2").arg(loading_path_, message));
    text = loadErrorText(loading_path_, message);
    if (model_loaded_) text += tr("\n\n%1 is still loaded.").arg(QString::fromStdString(summary_.name));
    endLoad();
    if (model_loaded_) {
      model_label_->setText(loaded_label_);
      model_label_->setToolTip(loaded_tip_);
    } else {
      model_label_->setText(tr("No model loaded — %1").arg(text.toHtmlEscaped()));
    }
  } else {
    logError(tr("Run failed: %1").arg(message));
    text = runErrorText(message);
    if (running_) {
      progress_->setVisible(false);
      // The charts were reset only if the run had started; show the last finished run again either way.
      if (has_report_) charts_->showReport(shown_report_);
    }
    repeat_runs_.clear();
    repeat_total_ = 1;
    needle_running_ = false;
    setBusy(false);
  }
  statusBar()->showMessage(tr("Error: %1").arg(text));
  emit errorShown(text);
  if (error_dialogs_) criticalPlain(this, tr("FluxScope"), text);
}

void MainWindow::scheduleCount() {
  count_timer_->start();
}

void MainWindow::onCounted(int ticket, int tokens, int context_length, double ms) {
  if (ticket != count_ticket_) return;  // a newer count is on its way
  if (tokens < 0) {
    token_count_->setText(tr("? tokens"));
    return;
  }
  const bool over = tokens >= context_length;  // the engine refuses prompts that fill the whole context
  token_count_->setText(
      tr("%1 / %2 tokens%3").arg(tokens).arg(context_length).arg(over ? tr(" — over the limit") : QString()));
  token_count_->setStyleSheet(over ? QStringLiteral("color: #d03030; font-weight: bold") : QString());
  token_count_->setToolTip(
      over ? tr("The prompt has %1 tokens but the model's context holds %2: shorten it by at least %3 "
                "tokens or the run will be refused")
                 .arg(tokens)
                 .arg(context_length)
                 .arg(tokens - context_length + 1)
           : tr("Prompt tokens (with the chat template) / the context limit; counted in %1 ms").arg(ms, 0, 'f', 1));
  emit promptTokensCounted(tokens, context_length, ms);
}

void MainWindow::setBusy(bool busy) {
  running_ = busy;
  run_action_->setEnabled(!busy && model_loaded_ && !loading_);
  stop_action_->setEnabled(busy || loading_);
}

namespace {

// A run stopped during prefill as the charts show it: every layer on the axis (the unfinished ones empty) and the
// prefill time of the layers that ran, so the summary says what did run instead of "prefill 0 ms".
engine::RunReport stoppedRunForCharts(const engine::RunReport& r, int n_layers) {
  engine::RunReport shown = r;
  if (r.status == "ok") return shown;
  if (shown.summary.prefill_ms <= 0.0) {
    for (const auto& l : r.layers) shown.summary.prefill_ms += l.prefill_ms;
    shown.summary.prefill_tokens_per_s = shown.summary.prefill_ms > 0 && int(r.layers.size()) >= n_layers
                                             ? r.prompt_tokens * 1000.0 / shown.summary.prefill_ms
                                             : 0.0;
  }
  int last = -1;
  for (const auto& l : r.layers) last = std::max(last, l.index);
  for (int i = last + 1; i < n_layers; ++i) {
    engine::LayerReport empty;
    empty.index = i;
    empty.prefill_ms = 0.0;  // did not run
    shown.layers.push_back(empty);
  }
  return shown;
}

}  // namespace

void MainWindow::showReport(const engine::RunReport& report) {
  shown_report_ = report;
  has_report_ = true;
  export_action_->setEnabled(true);
  export_action_->setToolTip(tr("Export the shown run as JSON, CSV, HTML or PDF (Ctrl+S)"));
  if (!running_) {
    layer_model_->showReport(report);
    if (report.status == "ok")
      charts_->showReport(report);  // no copy of a large report (its block masks) for the charts
    else
      charts_->showReport(stoppedRunForCharts(report, n_layers_));
    output_->showRun(report);
  }
}

void MainWindow::showHistorySelection() {
  const QModelIndexList rows = history_view_->selectionModel()->selectedRows();
  if (rows.size() == 1) {
    showReport(history_model_->report(rows[0].row()));
  } else if (rows.size() == 2) {
    const int a = std::min(rows[0].row(), rows[1].row());
    const int b = std::max(rows[0].row(), rows[1].row());
    comparison_->compare(history_model_->entry(a), history_model_->entry(b));
    comparison_dock_->show();
    comparison_dock_->raise();
  }
  export_comparison_action_->setEnabled(comparison_->hasComparison() || comparison_->baselines()->hasBaselines());
}

void MainWindow::repeatDialog() {
  bool ok = false;
  const int n = QInputDialog::getInt(this, tr("Repeat"), tr("Run the same configuration this many times:"),
                                     std::max(3, controls_->repeat()->value()), 2, 100, 1, &ok);
  if (!ok) return;
  controls_->repeat()->setValue(n);
  startRepeat(n);
}

QString MainWindow::statusText() const {
  return statusBar()->currentMessage();
}

}  // namespace flux::ui
