// MainWindow's "Compare with baselines…" (issue 16 point 3): the selected run's baselines (comparison_baselines.h)
// run on the worker (EngineWorker::runBaselines) and the Comparison dock shows them as they finish.
#include <QCheckBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QStatusBar>

#include "ui/comparison_baselines_panel.h"
#include "ui/comparison_view.h"
#include "ui/engine_worker.h"
#include "ui/haystack_prompt.h"
#include "ui/main_window.h"
#include "ui/needle_grid_dialog.h"
#include "ui/plain_message.h"
#include "ui/run_history_model.h"

namespace flux::ui {

void MainWindow::connectBaselines() {
  connect(comparison_->baselines(), &BaselinesPanel::baselinesRequested, this, &MainWindow::baselinesDialog);
  connect(this, &MainWindow::requestBaselines, worker_, &EngineWorker::runBaselines);
  connect(worker_, &EngineWorker::baselineFinished, this, [this](int done, int total, const BaselineResult& r) {
    if (!baselines_running_) return;
    comparison_->baselines()->add(r);
    progress_->setValue(done);
    statusBar()->showMessage(tr("Baselines: %1 of %2 runs done (%3)").arg(done).arg(total).arg(r.name.c_str()));
  });
  connect(worker_, &EngineWorker::baselinesFinished, this, [this](bool cancelled, const QString& error) {
    baselines_running_ = false;
    setBusy(false);
    progress_->setVisible(false);
    comparison_->baselines()->end(cancelled, error);
    const QString line = comparison_->baselines()->status()->text();
    error.isEmpty() ? log(line) : logError(line);
    statusBar()->showMessage(line);
    export_comparison_action_->setEnabled(true);
    emit baselinesCompleted(cancelled, error);
  });
}

const RunEntry* MainWindow::baselineSubject() const {
  if (comparison_->hasComparison() && history_view_->selectionModel()->selectedRows().size() == 2)
    return &comparison_->entryB();
  const QModelIndexList rows = history_view_->selectionModel()->selectedRows();
  if (rows.size() == 1) return &history_model_->entry(rows[0].row());
  return history_model_->count() > 0 ? &history_model_->entry(0) : nullptr;
}

void MainWindow::startBaselines(const BaselineOptions& options) {
  if (!model_loaded_ || running_ || loading_) return;
  const RunEntry* entry = baselineSubject();
  QString error;
  std::vector<BaselineRoute> routes;
  if (!entry)
    error = tr("Run a prompt first (or select a run in the Runs dock): its baselines rerun that run's prompt.");
  else if (entry->prompt.empty())
    error =
        tr("The selected run's prompt is unknown (a report opened from a file keeps none): its baselines "
           "cannot run.");
  else if (entry->shown().model_path != summary_.path)
    error = tr("The selected run is of another model (%1): open that model to run its baselines.")
                .arg(QString::fromStdString(entry->shown().model_name));
  else
    try {
      routes = comparisonBaselines(entry->shown(), options);
    } catch (const std::exception& e) {
      error = tr("Baselines: %1").arg(QString::fromStdString(e.what()));
    }
  if (!error.isEmpty()) {
    logError(error);
    statusBar()->showMessage(error);
    emit errorShown(error);
    if (error_dialogs_) criticalPlain(this, tr("Compare with Baselines"), error);
    return;
  }
  const engine::RunReport& run = entry->shown();
  engine::RunRequest base;
  base.prompt = entry->prompt;
  base.settings = run.settings;
  const QString answer = haystackAnswer(QString::fromStdString(entry->prompt));
  baselines_running_ = true;
  setBusy(true);
  progress_->setRange(0, int(routes.size()));
  progress_->setValue(0);
  progress_->setFormat(tr("baseline %v/%m"));
  progress_->setVisible(true);
  comparison_->baselines()->begin(baselineResult("this run", 0, run, answer.toStdString()), answer.toStdString(),
                                  int(routes.size()));
  comparison_dock_->show();
  comparison_dock_->raise();
  log(tr("Baselines of %1: %2 runs (%3 random:match seeds)%4")
          .arg(QString::fromStdString(run.settings.route))
          .arg(routes.size())
          .arg(options.random_seeds)
          .arg(answer.isEmpty() ? QString() : tr(", expected answer %1").arg(answer)));
  worker_->arm();
  emit requestBaselines(routes, base, answer);
}

void MainWindow::baselinesDialog() {
  QDialog dialog(this);
  dialog.setWindowTitle(tr("Compare with Baselines"));
  auto* seeds = new QSpinBox();
  seeds->setRange(1, 50);
  seeds->setValue(5);
  seeds->setToolTip(tr("random:match: how many random layer sets with the run's SA layer count"));
  auto* route_file = new QLineEdit();
  route_file->setPlaceholderText(tr("optional: a saved route, e.g. the best fixed layer set"));
  auto* browse = new QPushButton(tr("Browse…"));
  connect(browse, &QPushButton::clicked, &dialog, [&] {
    const QString path = QFileDialog::getOpenFileName(&dialog, tr("Route file"), {}, tr("Routes (*.json *.txt)"));
    if (!path.isEmpty()) route_file->setText(path);
  });
  auto* file_row = new QHBoxLayout();
  file_row->addWidget(route_file, 1);
  file_row->addWidget(browse);
  const QString previous = previousRouterFile();
  auto* use_previous =
      new QCheckBox(previous.isEmpty() ? tr("previous router (none found)")
                                       : tr("previous router (%1)").arg(QFileInfo(previous).fileName()));
  use_previous->setEnabled(!previous.isEmpty());
  use_previous->setChecked(!previous.isEmpty());
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel);
  connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  auto* form = new QFormLayout(&dialog);
  form->addRow(tr("random:match seeds"), seeds);
  form->addRow(tr("Route file"), file_row);
  form->addRow(use_previous);
  form->addRow(buttons);
  if (dialog.exec() != QDialog::Accepted) return;
  BaselineOptions options;
  options.random_seeds = seeds->value();
  options.route_file = route_file->text().trimmed().toStdString();
  if (use_previous->isChecked()) options.previous_router = previous.toStdString();
  startBaselines(options);
}

}  // namespace flux::ui
