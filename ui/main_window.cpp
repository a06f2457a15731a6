#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QClipboard>
#include <QCloseEvent>
#include <QDateTime>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListView>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardPaths>
#include <QStatusBar>
#include <QStyleFactory>
#include <QSysInfo>
#include <QTableView>
#include <QThreadPool>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

#include "engine/routing/route_spec.h"
#include "ui/app_log.h"
#include "ui/attention_map_panel.h"
#include "ui/comparison_view.h"
#include "ui/engine_worker.h"
#include "ui/haystack_prompt.h"
#include "ui/layer_map_widget.h"
#include "ui/layer_table_model.h"
#include "ui/memory_panel.h"
#include "ui/needle_grid_view.h"
#include "ui/run_controls.h"
#include "ui/run_history_model.h"
#include "ui/timing_charts.h"
#include "ui/token_output_view.h"

namespace flux::ui {

MainWindow::MainWindow() {
  setWindowTitle(tr("FluxScope"));
  setAcceptDrops(true);
  installAppLogger();
  EngineWorker::registerTypes();
  io_pool_ = new QThreadPool(this);
  io_pool_->setMaxThreadCount(1);
  worker_ = new EngineWorker();
  worker_->moveToThread(&thread_);
  connectWorker();
  thread_.start();

  buildCentre();
  buildDocks();
  buildMenus();
  connectNeedleGrid();
  connectBaselines();
  count_timer_ = new QTimer(this);
  count_timer_->setSingleShot(true);
  count_timer_->setInterval(300);
  connect(count_timer_, &QTimer::timeout, this, [this] {
    if (!model_loaded_) return;
    const engine::RunSettings s = controls_->settings();
    emit requestCount(++count_ticket_, prompt_->toPlainText(), s.chat, QString::fromStdString(s.system_prompt),
                      s.parse_special);
  });
  connect(prompt_, &QPlainTextEdit::textChanged, this, &MainWindow::scheduleCount);
  connect(controls_, &RunControls::tokenizationChanged, this, &MainWindow::scheduleCount);
  // The memory estimate follows the prompt, the plan and the number of new tokens (same debounce as the count).
  connect(count_timer_, &QTimer::timeout, this, &MainWindow::estimateMemory);
  connect(layer_model_, &LayerTableModel::planChanged, this, &MainWindow::scheduleCount);
  connect(controls_->maxTokens(), &QSpinBox::valueChanged, this, &MainWindow::scheduleCount);
  connect(dark_action_, &QAction::toggled, attention_, &AttentionMapPanel::setDark);
  connect(controls_, &RunControls::loadSettingsChanged, this, &MainWindow::reloadModel);
  resize(1400, 900);
  restoreSettings();
  loadHistory();
  setBusy(false);
}

MainWindow::~MainWindow() {
  io_pool_->waitForDone();  // its tasks post their results to this window
  worker_->cancel();
  thread_.quit();
  thread_.wait();
}

void MainWindow::connectWorker() {
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  connect(this, &MainWindow::requestLoad, worker_, &EngineWorker::loadModel);
  connect(this, &MainWindow::requestRun, worker_, &EngineWorker::run);
  connect(this, &MainWindow::requestCount, worker_, &EngineWorker::countTokens);
  connect(worker_, &EngineWorker::routerLoaded, this, [this](const RouterInfo& r) { router_ = r; });
  connect(worker_, &EngineWorker::modelLoaded, this, &MainWindow::onModelLoaded);
  connect(worker_, &EngineWorker::runStarted, this, &MainWindow::onStarted);
  connect(worker_, &EngineWorker::layerPrefilled, this, &MainWindow::onLayer);
  connect(worker_, &EngineWorker::tokenDecoded, this, &MainWindow::onToken);
  connect(worker_, &EngineWorker::runFinished, this, &MainWindow::onFinished);
  connect(worker_, &EngineWorker::failed, this, &MainWindow::onFailed);
  connect(worker_, &EngineWorker::tokensCounted, this, &MainWindow::onCounted);
  connect(this, &MainWindow::requestEstimate, worker_, &EngineWorker::estimateMemory);
  connect(worker_, &EngineWorker::memoryEstimated, this,
          [this](int ticket, const engine::MemoryReport& estimate, const QString& error) {
            if (ticket != estimate_ticket_) return;  // a newer estimate is on its way
            if (error.isEmpty())
              memory_->showEstimate(estimate, layer_model_->plan());
            else
              memory_->showEstimateError(error);
          });
  connect(worker_, &EngineWorker::loadProgress, this, &MainWindow::onLoadProgress);
}

void MainWindow::buildCentre() {
  model_label_ = new QLabel(tr("No model loaded — File → Open Model or drop a .gguf file here"));
  model_label_->setWordWrap(true);
  prompt_ = new QPlainTextEdit();
  prompt_->setPlaceholderText(tr("Paste a prompt or a long context here (or drop a .txt file)"));
  prompt_->setToolTip(tr("The prompt; its token count against the context limit is shown in the status bar"));
  output_ = new TokenOutputView();
  controls_ = new RunControls();
  auto* run = new QPushButton(tr("Run"));
  auto* stop = new QPushButton(tr("Stop"));
  auto* top = new QWidget();
  auto* top_layout = new QVBoxLayout(top);
  top_layout->addWidget(model_label_);
  top_layout->addWidget(prompt_, 1);
  auto* buttons = new QHBoxLayout();
  buttons->addWidget(controls_, 1);
  buttons->addWidget(run);
  buttons->addWidget(stop);
  top_layout->addLayout(buttons);
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(top);
  split->addWidget(output_);
  setCentralWidget(split);

  run_action_ = new QAction(tr("&Run"), this);
  run_action_->setShortcuts({QKeySequence(Qt::CTRL | Qt::Key_Return), QKeySequence(Qt::CTRL | Qt::Key_Enter)});
  run_action_->setToolTip(tr("Run the prompt (Ctrl+Return)"));
  stop_action_ = new QAction(tr("&Stop"), this);
  stop_action_->setShortcut(QKeySequence(Qt::Key_Escape));
  stop_action_->setToolTip(tr("Stop the run at the next layer or token (Esc)"));
  connect(run_action_, &QAction::triggered, this, &MainWindow::startRun);
  connect(stop_action_, &QAction::triggered, this, &MainWindow::stopRun);
  connect(run, &QPushButton::clicked, run_action_, &QAction::trigger);
  connect(stop, &QPushButton::clicked, stop_action_, &QAction::trigger);
  run->setToolTip(run_action_->toolTip());
  stop->setToolTip(stop_action_->toolTip());
  connect(run_action_, &QAction::enabledChanged, run, &QWidget::setEnabled);
  connect(stop_action_, &QAction::enabledChanged, stop, &QWidget::setEnabled);

  progress_ = new QProgressBar();
  progress_->setMaximumWidth(220);
  progress_->setVisible(false);
  progress_->setToolTip(tr("Prefill: layers done; decode: tokens generated"));
  token_count_ = new QLabel();
  token_count_->setToolTip(tr("Prompt tokens (with the chat template) / the context limit"));
  auto* cancel = new QPushButton(tr("Cancel"));
  cancel->setToolTip(stop_action_->toolTip());
  cancel->setObjectName(QStringLiteral("cancelButton"));
  connect(cancel, &QPushButton::clicked, stop_action_, &QAction::trigger);
  connect(stop_action_, &QAction::enabledChanged, cancel, &QWidget::setVisible);
  statusBar()->addPermanentWidget(token_count_);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(cancel);
}

void MainWindow::buildDocks() {
  layer_model_ = new LayerTableModel(this);
  layer_map_ = new LayerMapWidget(layer_model_);
  charts_ = new TimingCharts();
  history_model_ = new RunHistoryModel(this);
  history_view_ = new QListView();
  history_view_->setModel(history_model_);
  history_view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  history_view_->setToolTip(tr("Finished runs: select one to show it, two to compare them"));
  history_view_->setAlternatingRowColors(true);
  history_view_->setTextElideMode(Qt::ElideMiddle);
  history_view_->setMinimumWidth(210);  // the two-line entries read in full
  connect(history_view_->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          &MainWindow::showHistorySelection);
  comparison_ = new ComparisonView();
  attention_ = new AttentionMapPanel();
  connect(worker_, &EngineWorker::modelLoaded, attention_,
          [this](const engine::ModelSummary& s) { attention_->setModelHeads(s.config.n_heads); });
  memory_ = new MemoryPanel();
  // Both panels show the run the layer map shows; picking a layer in the map picks its attention map.
  connect(layer_model_, &LayerTableModel::reportShown, attention_, &AttentionMapPanel::showReport);
  connect(layer_model_, &LayerTableModel::reportShown, memory_, &MemoryPanel::showMeasured);
  connect(layer_model_, &LayerTableModel::runBegan, attention_, &AttentionMapPanel::beginRun);
  connect(layer_model_, &LayerTableModel::runBegan, memory_, &MemoryPanel::clearMeasured);
  connect(layer_map_->view()->selectionModel(), &QItemSelectionModel::currentRowChanged, attention_,
          [this](const QModelIndex& current) { attention_->selectLayer(current.row()); });

  auto dock = [this](const QString& title, const QString& name, QWidget* w, Qt::DockWidgetArea area) {
    auto* d = new QDockWidget(title, this);
    d->setObjectName(name);
    d->setWidget(w);
    addDockWidget(area, d);
    return d;
  };
  // Default layout (a saved state replaces it): the layer map full height on the right, runs on the left, timing
  // and comparison tabbed along the bottom, wide enough for both charts side by side.
  setCorner(Qt::TopRightCorner, Qt::RightDockWidgetArea);
  setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);
  setCorner(Qt::BottomLeftCorner, Qt::BottomDockWidgetArea);
  auto* map = dock(tr("Layer map"), QStringLiteral("layerMapDock"), layer_map_, Qt::RightDockWidgetArea);
  auto* timing = dock(tr("Timing"), QStringLiteral("timingDock"), charts_, Qt::BottomDockWidgetArea);
  auto* runs = dock(tr("Runs"), QStringLiteral("historyDock"), history_view_, Qt::LeftDockWidgetArea);
  comparison_dock_ = dock(tr("Comparison"), QStringLiteral("comparisonDock"), comparison_, Qt::BottomDockWidgetArea);
  tabifyDockWidget(timing, comparison_dock_);
  auto* attention = dock(tr("Attention map"), QStringLiteral("attentionDock"), attention_, Qt::BottomDockWidgetArea);
  auto* memory = dock(tr("Memory"), QStringLiteral("memoryDock"), memory_, Qt::BottomDockWidgetArea);
  tabifyDockWidget(comparison_dock_, attention);
  tabifyDockWidget(attention, memory);
  needle_view_ = new NeedleGridView();
  needle_dock_ = dock(tr("Needle grid"), QStringLiteral("needleGridDock"), needle_view_, Qt::BottomDockWidgetArea);
  tabifyDockWidget(memory, needle_dock_);
  timing->raise();
  resizeDocks({runs, map}, {210, 540}, Qt::Horizontal);
  resizeDocks({timing}, {340}, Qt::Vertical);
}

void MainWindow::restoreSettings() {
  QSettings s;
  restoreGeometry(s.value(QStringLiteral("window/geometry")).toByteArray());
  restoreState(s.value(QStringLiteral("window/state")).toByteArray());
  controls_->restore();
  layer_map_->setPreset(s.value(QStringLiteral("plan/preset"), QStringLiteral("fa")).toString());
  layer_map_->restoreSettings();  // SA kind and every routing parameter
  dark_action_->setChecked(s.value(QStringLiteral("window/dark"), false).toBool());
  setBackend(s.value(QStringLiteral("backend"), QStringLiteral("auto")).toString());
  rebuildRecent();
}

void MainWindow::saveSettings() {
  QSettings s;
  s.setValue(QStringLiteral("window/geometry"), saveGeometry());
  s.setValue(QStringLiteral("window/state"), saveState());
  s.setValue(QStringLiteral("window/dark"), dark_action_->isChecked());
  s.setValue(QStringLiteral("backend"), backend());
  controls_->save();
  s.setValue(QStringLiteral("plan/preset"), layer_model_->preset());
  layer_map_->saveSettings();
}

void MainWindow::closeEvent(QCloseEvent* event) {
  saveSettings();
  worker_->cancel();
  event->accept();
}

void MainWindow::rememberModel(const QString& path) {
  QSettings s;
  QStringList recent = s.value(QStringLiteral("recentModels")).toStringList();
  recent.removeAll(path);
  recent.prepend(path);
  while (recent.size() > 8) recent.removeLast();
  s.setValue(QStringLiteral("recentModels"), recent);
  s.setValue(QStringLiteral("lastModel"), path);
  rebuildRecent();
}

bool MainWindow::openLastModel() {
  const QString last = QSettings().value(QStringLiteral("lastModel")).toString();
  if (last.isEmpty() || !QFileInfo::exists(last)) return false;
  openModel(last);
  return true;
}

void MainWindow::rebuildRecent() {
  recent_menu_->clear();
  const QStringList recent = QSettings().value(QStringLiteral("recentModels")).toStringList();
  for (const QString& path : recent) recent_menu_->addAction(path, this, [this, path] { openModel(path); });
  recent_menu_->setEnabled(!recent.isEmpty());
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  for (const QUrl& url : event->mimeData()->urls()) {
    const QFileInfo info(url.toLocalFile());
    const QString suffix = info.suffix().toLower();
    if (suffix == QStringLiteral("gguf") || suffix == QStringLiteral("txt") || info.isDir()) {
      event->acceptProposedAction();
      return;
    }
  }
}

void MainWindow::dropEvent(QDropEvent* event) {
  for (const QUrl& url : event->mimeData()->urls()) {
    const QString path = url.toLocalFile();
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (suffix == QStringLiteral("gguf") || QFileInfo(path).isDir()) openModel(path);  // a dir: HF model folder
    if (suffix == QStringLiteral("txt")) openPromptFile(path);
  }
  event->acceptProposedAction();
}

engine::RunRequest MainWindow::currentRequest() const {
  engine::RunRequest request;
  request.prompt = prompt_->toPlainText().toStdString();
  request.settings = controls_->settings();
  request.route = layer_map_->routeSpec();  // every routing parameter (decode mode, block, ...), in a RouteSpec
  request.settings.route = engine::describe(request.route);
  request.settings.overrides = layer_model_->overridesText().toStdString();
  return request;
}

void MainWindow::estimateMemory() {
  if (!model_loaded_ || running_) return;
  emit requestEstimate(++estimate_ticket_, currentRequest());
}

}  // namespace flux::ui
