// MainWindow's file side: the runs folder (history loaded at start, each finished run saved), File → Open Report…,
// Save Route… / Load Route… in the engine's route grammar, and the report, comparison and chart exports.
#include <QEventLoop>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QItemSelectionModel>
#include <QListView>
#include <QMessageBox>
#include <QSettings>
#include <QStatusBar>
#include <QThreadPool>

#include <spdlog/spdlog.h>

#include <memory>

#include "engine/core/error.h"
#include "engine/routing/route_spec.h"
#include "ui/comparison_baselines_panel.h"
#include "ui/comparison_export.h"
#include "ui/comparison_view.h"
#include "ui/layer_map_widget.h"
#include "ui/main_window.h"
#include "ui/needle_grid_view.h"
#include "ui/report_export.h"
#include "ui/run_history_model.h"
#include "ui/timing_charts.h"
#include "ui/plain_message.h"

namespace flux::ui {

void MainWindow::addToHistory(const RunEntry& entry, bool persist) {
  history_model_->add(entry);
  if (!persist) return;
  const QString error = store_.save(entry);
  if (!error.isEmpty()) logError(error);
}

int MainWindow::keptRuns() {
  return std::max(1, QSettings().value(QStringLiteral("runs/keep"), 200).toInt());
}

void MainWindow::loadHistory() {
  // The folder may hold many large reports: read (and prune) it on the pool, add the entries when they are in.
  const RunStore store = store_;
  const int keep = keptRuns();
  io_pool_->start([this, store, keep] {
    auto loaded = std::make_shared<RunStore::Loaded>(store.load(keep));
    QMetaObject::invokeMethod(this, [this, loaded] {
      // Runs that finished meanwhile stay after the older ones.
      history_model_->prepend(loaded->entries);
      for (const QString& why : loaded->skipped)
        spdlog::warn("runs folder {}: skipped {}", store_.folder().toStdString(), why.toStdString());
      if (loaded->removed > 0)
        log(tr("Runs folder: kept the newest %1 run files, removed %2 older ones (setting runs/keep = %1)")
                .arg(keptRuns())
                .arg(loaded->removed));
      if (!loaded->entries.empty())
        log(tr("Run history: %1 entries from %2").arg(loaded->entries.size()).arg(store_.folder()));
      history_ready_ = true;
      emit historyLoaded(int(loaded->entries.size()));
    });
  });
}

void MainWindow::openReportFileAsync(const QString& path) {
  const RunStore store = store_;
  io_pool_->start([this, store, path] {
    // Parse and keep a copy in the runs folder here; the window only adds and shows the entry.
    auto entry = std::make_shared<RunEntry>();
    QString error;
    try {
      *entry = readReportFile(path);
      const QString save_error = store.save(*entry);
      if (!save_error.isEmpty()) spdlog::error("{}", save_error.toStdString());
    } catch (const std::exception& e) {
      error = QString::fromStdString(e.what());
    }
    QMetaObject::invokeMethod(this, [this, path, entry, error] {
      if (!error.isEmpty()) {
        logError(tr("Open Report failed: %1").arg(error));
      } else {
        history_model_->add(std::move(*entry));
        const int row = history_model_->count() - 1;
        {
          const QSignalBlocker block(history_view_->selectionModel());  // shown once below, not twice
          history_view_->selectionModel()->select(history_model_->index(row), QItemSelectionModel::ClearAndSelect);
        }
        showReport(history_model_->report(row));
        log(tr("Report opened: %1").arg(path));
      }
      emit reportOpened(path, error);
    });
  });
}

QString MainWindow::openReportFile(const QString& path) {
  QEventLoop loop;
  QString result;
  const auto c = connect(this, &MainWindow::reportOpened, &loop, [&](const QString& p, const QString& error) {
    if (p != path) return;
    result = error;
    loop.quit();
  });
  openReportFileAsync(path);
  loop.exec();
  disconnect(c);
  return result;
}

QString MainWindow::saveRouteTo(const QString& path) {
  const std::string spec = engine::describe(layer_map_->routeSpec());
  const bool json = QFileInfo(path).suffix().toLower() == QStringLiteral("json");
  // JSON: the engine's route-file form {"spec": "<text>"}; anything else: the text grammar itself.
  const std::string text = json ? nlohmann::json{{"spec", spec}}.dump(2) + "\n" : spec + "\n";
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate) ||
      f.write(text.data(), qint64(text.size())) != qint64(text.size()))
    return tr("Cannot write %1: %2").arg(path, f.errorString());
  log(tr("Route saved to %1: %2").arg(path, QString::fromStdString(spec)));
  return {};
}

QString MainWindow::loadRouteFrom(const QString& path) {
  try {
    engine::RouteSpec spec;
    if (QFileInfo(path).suffix().toLower() == QStringLiteral("json")) {
      spec = engine::load_route_file(path.toStdString());
    } else {
      QFile f(path);
      engine::require(f.open(QIODevice::ReadOnly), "cannot read {}", path.toStdString());
      spec = engine::parse_route_spec(QString::fromUtf8(f.readAll()).simplified().toStdString());
    }
    layer_map_->applyRouteSpec(spec);
    log(tr("Route loaded from %1: %2").arg(path, QString::fromStdString(engine::describe(spec))));
    return {};
  } catch (const std::exception& e) {
    const QString error = tr("“%1” is not a route FluxScope can use: %2")
                              .arg(QFileInfo(path).fileName(), QString::fromStdString(e.what()));
    logError(error);
    return error;
  }
}

QString MainWindow::exportReportTo(const QString& path) {
  if (!has_report_) return tr("There is no finished run to export yet.");
  // An open needle grid goes into HTML and PDF reports as its own section.
  return exportReport(shown_report_, path, charts_->toSvg(),
                      needle_view_->hasGrid() ? &needle_view_->canvas()->grid() : nullptr);
}

QString MainWindow::exportComparisonTo(const QString& path) {
  const BaselinesPanel* baselines = comparison_->baselines();
  if (!comparison_->hasComparison() && !baselines->hasBaselines())
    return tr("Select two runs in the Runs dock to compare them (or compare one run with its baselines) first.");
  if (!comparison_->hasComparison()) return exportBaselines(baselines->baselines(), path);
  return exportComparison(comparison_->entryA(), comparison_->entryB(), path,
                          baselines->hasBaselines() ? &baselines->baselines() : nullptr);
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
    criticalPlain(parent, title, error);
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
    logError(tr("Export failed: %1").arg(error));
    criticalPlain(this, tr("Export Report"), error);
  }
}

void MainWindow::exportComparisonDialog() {
  if (!comparison_->hasComparison() && !comparison_->baselines()->hasBaselines()) {
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
    logError(tr("Export failed: %1").arg(error));
    criticalPlain(this, tr("Export Comparison"), error);
  }
}

void MainWindow::exportChartsDialog() {
  const QString path = askSavePath(this, tr("Export Charts"), QStringLiteral("fluxscope-timing.png"),
                                   tr("PNG image (*.png);;SVG image (*.svg)"));
  if (path.isEmpty()) return;
  const bool svg = QFileInfo(path).suffix().toLower() == QStringLiteral("svg");
  const bool ok = svg ? charts_->exportSvg(path) : charts_->exportPng(path);
  if (!ok) {
    logError(tr("Export failed: cannot write %1").arg(path));
    criticalPlain(this, tr("Export Charts"), tr("Cannot write %1").arg(path));
  }
}

void MainWindow::openReportDialog() {
  const QString path =
      QFileDialog::getOpenFileName(this, tr("Open Report"), store_.folder(), tr("FluxScope reports (*.json)"));
  if (path.isEmpty()) return;
  // Not waited for: the window stays live while the file is parsed; a wrong file gets its dialog when it is known.
  auto* context = new QObject(this);
  connect(this, &MainWindow::reportOpened, context, [this, path, context](const QString& p, const QString& error) {
    if (p != path) return;
    context->deleteLater();
    if (!error.isEmpty()) criticalPlain(this, tr("Open Report"), error);
  });
  openReportFileAsync(path);
}

void MainWindow::saveRouteDialog() {
  const QString path = askSavePath(this, tr("Save Route"), QStringLiteral("route.txt"),
                                   tr("Route text (*.txt *.route);;Route JSON (*.json)"));
  if (path.isEmpty()) return;
  const QString error = saveRouteTo(path);
  if (!error.isEmpty()) criticalPlain(this, tr("Save Route"), error);
}

void MainWindow::loadRouteDialog() {
  const QString path =
      QFileDialog::getOpenFileName(this, tr("Load Route"), {}, tr("Routes (*.txt *.route *.json);;All files (*)"));
  if (path.isEmpty()) return;
  const QString error = loadRouteFrom(path);
  if (!error.isEmpty()) criticalPlain(this, tr("Load Route"), error);
}

}  // namespace flux::ui
