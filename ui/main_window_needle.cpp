// MainWindow's needle grid (issue 15 point 6): Tools → Needle Sweep… runs a context × depth × route grid on the
// worker (EngineWorker::runNeedleGrid), the Needle grid dock shows it cell by cell, the runs folder keeps it.
#include <QDockWidget>
#include <QFileDialog>
#include <QMessageBox>
#include <QProgressBar>
#include <QStatusBar>

#include "engine/routing/route_spec.h"
#include "ui/engine_worker.h"
#include "ui/main_window.h"
#include "ui/needle_grid_dialog.h"
#include "ui/needle_grid_view.h"
#include "ui/plain_message.h"

namespace flux::ui {

void MainWindow::connectNeedleGrid() {
  connect(this, &MainWindow::requestNeedleGrid, worker_, &EngineWorker::runNeedleGrid);
  connect(worker_, &EngineWorker::needleCellFinished, this, &MainWindow::onNeedleCell);
  connect(worker_, &EngineWorker::needleGridFinished, this, &MainWindow::onNeedleGrid);
  connect(needle_view_, &NeedleGridView::openGridRequested, this, [this](const QString& path) {
    const QString error = openNeedleGridFile(path);
    if (!error.isEmpty() && error_dialogs_) criticalPlain(this, tr("Open Needle Grid"), error);
  });
  needle_view_->setSavedGrids(store_.grids());
}

void MainWindow::startNeedleGrid(const NeedleGridSpec& spec) {
  if (!model_loaded_ || running_ || loading_) return;
  const engine::RunRequest base = currentRequest();
  needle_running_ = true;
  setBusy(true);
  progress_->setRange(0, std::max(1, spec.cellCount()));
  progress_->setValue(0);
  progress_->setFormat(tr("cell %v/%m"));
  progress_->setVisible(true);
  needle_view_->beginGrid(spec);
  needle_dock_->show();
  needle_dock_->raise();
  statusBar()->showMessage(tr("Needle grid: cell 1 of %1…").arg(spec.cellCount()));
  log(tr("Needle grid: %1 cells (%2 contexts × %3 depths × %4 routes), %5 new tokens each, plan %6")
          .arg(spec.cellCount())
          .arg(spec.contexts.size())
          .arg(spec.depths.size())
          .arg(spec.routes.size())
          .arg(spec.max_new_tokens)
          .arg(QString::fromStdString(engine::describe(base.route))));
  worker_->arm();
  emit requestNeedleGrid(spec, base);
}

void MainWindow::onNeedleCell(int done, int total, const NeedleCell& cell) {
  if (!needle_running_) return;
  needle_view_->addCell(done, total, cell);
  progress_->setValue(done);
  statusBar()->showMessage(tr("Needle grid: cell %1 of %2 done (%3, %4 tokens, depth %5 %: %6)")
                               .arg(done)
                               .arg(total)
                               .arg(QString::fromStdString(cell.route))
                               .arg(cell.prompt_tokens)
                               .arg(cell.depth)
                               .arg(cell.passed ? tr("pass") : tr("fail")));
}

void MainWindow::onNeedleGrid(const NeedleGrid& grid) {
  needle_running_ = false;
  setBusy(false);
  progress_->setVisible(false);
  QString error;
  const QString path = store_.saveGrid(grid, &error);
  if (!error.isEmpty()) logError(error);
  needle_view_->showGrid(grid, path);
  needle_view_->setSavedGrids(store_.grids());
  int passed = 0;
  for (const NeedleCell& c : grid.cells) passed += c.passed;
  QString line = tr("Needle grid %1: %2 of %3 cells ran, %4 passed")
                     .arg(grid.cancelled       ? tr("cancelled")
                          : grid.error.empty() ? tr("done")
                                               : tr("stopped"))
                     .arg(grid.cells.size())
                     .arg(grid.spec.cellCount())
                     .arg(passed);
  if (!grid.error.empty()) {
    line += tr(" — %1").arg(QString::fromStdString(grid.error));
    logError(line);
  } else {
    log(line + (path.isEmpty() ? QString() : tr(" (saved as %1)").arg(path)));
  }
  statusBar()->showMessage(line);
  emit needleGridCompleted(grid, path);
}

QString MainWindow::openNeedleGridFile(const QString& path) {
  try {
    needle_view_->showGrid(readNeedleGridFile(path), path);
    needle_dock_->show();
    needle_dock_->raise();
    log(tr("Needle grid opened: %1").arg(path));
    return {};
  } catch (const std::exception& e) {
    const QString error = QString::fromStdString(e.what());
    logError(tr("Open Needle Grid failed: %1").arg(error));
    return error;
  }
}

void MainWindow::needleGridDialog() {
  const engine::RunRequest base = currentRequest();
  NeedleGridDialog dialog(router_.present(), QString::fromStdString(engine::describe(base.route)), store_.grids(),
                          this);
  if (dialog.exec() != QDialog::Accepted) return;
  if (!dialog.chosenGrid().isEmpty()) {
    const QString error = openNeedleGridFile(dialog.chosenGrid());
    if (!error.isEmpty()) criticalPlain(this, tr("Open Needle Grid"), error);
    return;
  }
  QString error;
  const NeedleGridSpec spec = dialog.spec(&error);
  if (!error.isEmpty()) {
    criticalPlain(this, tr("Needle Sweep"), error);
    return;
  }
  startNeedleGrid(spec);
}

void MainWindow::openNeedleGridDialog() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Open Needle Grid"), store_.folder(),
                                                    tr("Needle grids (*%1);;JSON (*.json)").arg(kNeedleGridSuffix));
  if (path.isEmpty()) return;
  const QString error = openNeedleGridFile(path);
  if (!error.isEmpty()) criticalPlain(this, tr("Open Needle Grid"), error);
}

}  // namespace flux::ui
