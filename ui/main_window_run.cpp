// MainWindow's run side: loading, starting and stopping runs, the worker's events, history selection and exports.
#include <QAction>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QItemSelectionModel>
#include <QLabel>
#include <QListView>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QStatusBar>
#include <QTimer>

#include "engine/routing/route_spec.h"
#include "engine/core/error.h"
#include "ui/comparison_export.h"
#include "ui/comparison_view.h"
#include "ui/engine_worker.h"
#include "ui/layer_map_widget.h"
#include "ui/layer_table_model.h"
#include "ui/main_window.h"
#include "ui/progress_text.h"
#include "ui/report_export.h"
#include "ui/run_controls.h"
#include "ui/run_history_model.h"
#include "ui/timing_charts.h"
#include "ui/token_output_view.h"

namespace flux::ui {

void MainWindow::openModel(const QString& path) {
  if (running_) stopRun();
  model_loaded_ = false;
  loading_ = true;
  load_cancel_requested_ = false;
  setBusy(false);
  model_label_->setText(tr("Loading %1…").arg(path));
  progress_->setRange(0, 100);
  progress_->setValue(0);
  progress_->setFormat(tr("loading %p%"));
  progress_->setVisible(true);
  statusBar()->showMessage(tr("Loading %1…").arg(path));
  log(tr("Loading model %1").arg(path));
  worker_->arm();
  emit requestLoad(path, backend());
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
  if (!model_loaded_ || running_) return;
  engine::RunRequest request;
  request.prompt = prompt_->toPlainText().toStdString();
  request.settings = controls_->settings();
  request.route = layer_model_->routeSpec();
  request.settings.route = engine::describe(request.route);
  request.settings.overrides = layer_model_->overridesText().toStdString();
  last_request_ = request;
  output_->clearTokens();
  layer_model_->beginRun();
  charts_->beginRun(n_layers_);
  progress_->setRange(0, n_layers_);
  progress_->setValue(0);
  progress_->setFormat(tr("prefill %v/%m"));
  progress_->setVisible(true);
  prefill_clock_.start();
  setBusy(true);
  statusBar()->showMessage(tr("Tokenizing…"));
  log(tr("Run: route %1, overrides '%2', max %3 tokens")
          .arg(QString::fromStdString(request.settings.route), QString::fromStdString(request.settings.overrides))
          .arg(request.settings.max_new_tokens));
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

void MainWindow::onModelLoaded(const engine::ModelSummary& s) {
  n_layers_ = s.config.n_layers;
  // SA kind: what SA means in runs on this model (the router's trained SA when it has a router).
  const engine::AttentionPlan& sa = router_.present() ? router_.sparse : layer_model_->sparse();
  model_label_->setText(tr("<b>%1</b> — %2, %3 layers, %4/%5 heads, context %6, %7 · <b>%8</b> · SA kind %9")
                            .arg(QString::fromStdString(s.name).toHtmlEscaped(),
                                 QString::fromStdString(s.config.architecture).toHtmlEscaped())
                            .arg(s.config.n_layers)
                            .arg(s.config.n_heads)
                            .arg(s.config.n_kv_heads)
                            .arg(s.config.context_length)
                            .arg(QString::fromStdString(s.quantization).toHtmlEscaped(),
                                 router_.label().toHtmlEscaped(),
                                 QString::fromLatin1(engine::attention_mode_name(sa.mode))));
  model_label_->setToolTip(router_.present() ? tr("Layer router: %1\n%2").arg(router_.source, router_.description)
                                             : tr("This model has no layer router: the Router preset is not offered"));
  layer_model_->setLayerCount(n_layers_);
  // A model with a router starts on the Router preset with the SA it was trained for (as the CLI does).
  layer_model_->setRouter(router_.present(), router_.threshold, router_.flux_family);
  layer_model_->setDense(router_.present() ? router_.defaults.dense : engine::AttentionPlan{});
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
  setBusy(false);
  progress_->setVisible(false);
  const QString line = tr("%1 — prompt %2 tokens, TTFT %3 ms, prefill %4 tok/s, decode %5 tok/s")
                           .arg(QString::fromStdString(r.status))
                           .arg(r.prompt_tokens)
                           .arg(r.summary.ttft_ms, 0, 'f', 1)
                           .arg(r.summary.prefill_tokens_per_s, 0, 'f', 1)
                           .arg(r.summary.decode_tokens_per_s, 0, 'f', 1);
  statusBar()->showMessage(line);
  log(line);
  history_model_->add(r);
  {
    // Show the new run without re-emitting it through the selection handler.
    const QSignalBlocker block(history_view_->selectionModel());
    history_view_->selectionModel()->select(history_model_->index(history_model_->count() - 1),
                                            QItemSelectionModel::ClearAndSelect);
  }
  history_view_->viewport()->update();
  showReport(r);
  emit runCompleted(r);
}

void MainWindow::onFailed(const QString& message) {
  if (loading_ && load_cancel_requested_) {
    endLoad();
    model_label_->setText(tr("No model loaded — loading was cancelled"));
    statusBar()->showMessage(tr("Loading cancelled"), 5000);
    log(tr("Loading cancelled"));
    emit loadCancelled();
    return;
  }
  if (running_ || loading_) progress_->setVisible(false);
  loading_ = false;
  setBusy(false);
  statusBar()->showMessage(tr("Error: %1").arg(message));
  log(tr("Error: %1").arg(message));
  if (!model_loaded_) model_label_->setText(tr("No model loaded — %1").arg(message));
  emit errorShown(message);
  if (error_dialogs_) QMessageBox::critical(this, tr("FluxScope"), message);
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

void MainWindow::showReport(const engine::RunReport& report) {
  shown_report_ = report;
  has_report_ = true;
  if (!running_) {
    layer_model_->showReport(report);
    charts_->showReport(report);
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
    comparison_->compare(history_model_->report(a), history_model_->report(b));
    comparison_dock_->show();
    comparison_dock_->raise();
  }
  export_comparison_action_->setEnabled(comparison_->hasComparison());
}

QString MainWindow::exportReportTo(const QString& path) {
  if (!has_report_) return tr("There is no finished run to export yet.");
  return exportReport(shown_report_, path, charts_->toSvg());
}

QString MainWindow::exportComparisonTo(const QString& path) {
  if (!comparison_->hasComparison()) return tr("Select two runs in the Runs dock to compare them first.");
  return exportComparison(comparison_->runA(), comparison_->runB(), path);
}

namespace {

// A save dialog (it asks before replacing a file) and the chosen path with the filter's extension added; empty
// when cancelled or when the folder cannot be written (the error is shown).
QString askSavePath(QWidget* parent, const QString& title, const QString& name, const QString& filters) {
  QString filter;
  QString path = QFileDialog::getSaveFileName(parent, title, name, filters, &filter);
  if (path.isEmpty()) return {};
  if (QFileInfo(path).suffix().isEmpty()) {
    const qsizetype star = filter.indexOf(QStringLiteral("*."));
    if (star >= 0) path += filter.mid(star + 1, filter.indexOf(QLatin1Char(')'), star) - star - 1);
  }
  const QString error = checkExportPath(path, true);  // the dialog has already asked about replacing
  if (!error.isEmpty()) {
    QMessageBox::critical(parent, title, error);
    return {};
  }
  return path;
}

}  // namespace

void MainWindow::exportReportDialog() {
  const QString path = askSavePath(this, tr("Export Report"), QStringLiteral("fluxscope-report.json"),
                                   tr("JSON (*.json);;CSV (*.csv);;HTML (*.html);;PDF (*.pdf)"));
  if (path.isEmpty()) return;
  const QString error = exportReportTo(path);
  if (error.isEmpty()) {
    statusBar()->showMessage(tr("Report written to %1").arg(path), 5000);
    log(tr("Report written to %1").arg(path));
  } else {
    log(tr("Export failed: %1").arg(error));
    QMessageBox::critical(this, tr("Export Report"), error);
  }
}

void MainWindow::exportComparisonDialog() {
  if (!comparison_->hasComparison()) {
    QMessageBox::information(this, tr("Export Comparison"), exportComparisonTo({}));
    return;
  }
  const QString path = askSavePath(this, tr("Export Comparison"), QStringLiteral("fluxscope-comparison.html"),
                                   tr("HTML (*.html);;PDF (*.pdf);;JSON (*.json);;CSV (*.csv)"));
  if (path.isEmpty()) return;
  const QString error = exportComparisonTo(path);
  if (error.isEmpty()) {
    statusBar()->showMessage(tr("Comparison written to %1").arg(path), 5000);
    log(tr("Comparison written to %1").arg(path));
  } else {
    log(tr("Export failed: %1").arg(error));
    QMessageBox::critical(this, tr("Export Comparison"), error);
  }
}

void MainWindow::exportChartsDialog() {
  const QString path = askSavePath(this, tr("Export Charts"), QStringLiteral("fluxscope-timing.png"),
                                   tr("PNG image (*.png);;SVG image (*.svg)"));
  if (path.isEmpty()) return;
  const bool svg = QFileInfo(path).suffix().toLower() == QStringLiteral("svg");
  const bool ok = svg ? charts_->exportSvg(path) : charts_->exportPng(path);
  if (!ok) QMessageBox::critical(this, tr("Export Charts"), tr("Cannot write %1").arg(path));
}

QString MainWindow::statusText() const {
  return statusBar()->currentMessage();
}

}  // namespace flux::ui
