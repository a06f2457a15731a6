#include "ui/main_window.h"

#include <QCheckBox>
#include <QCoreApplication>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QShortcut>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QTableWidget>
#include <QVBoxLayout>

#include "ui/engine_worker.h"

namespace flux::ui {

MainWindow::MainWindow() {
  setWindowTitle(tr("FluxScope"));
  EngineWorker::registerTypes();
  worker_ = new EngineWorker();
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  connect(this, &MainWindow::requestLoad, worker_, &EngineWorker::loadModel);
  connect(this, &MainWindow::requestRun, worker_, &EngineWorker::run);
  connect(worker_, &EngineWorker::modelLoaded, this, &MainWindow::onModelLoaded);
  connect(worker_, &EngineWorker::layerPrefilled, this, &MainWindow::onLayer);
  connect(worker_, &EngineWorker::tokenDecoded, this, &MainWindow::onToken);
  connect(worker_, &EngineWorker::runFinished, this, &MainWindow::onFinished);
  connect(worker_, &EngineWorker::failed, this, &MainWindow::onFailed);
  connect(worker_, &EngineWorker::loadProgress, this, [this](double f, const QString& what) {
    statusBar()->showMessage(tr("Loading %1% — %2").arg(int(f * 100)).arg(what));
  });
  thread_.start();

  auto* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("&Open Model…"), QKeySequence::Open, this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Model"), {}, tr("GGUF models (*.gguf)"));
    if (!path.isEmpty()) openModel(path);
  });
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  model_label_ = new QLabel(tr("No model loaded"));
  prompt_ = new QPlainTextEdit();
  prompt_->setPlaceholderText(tr("Paste a prompt or a long context here"));
  output_ = new QPlainTextEdit();
  output_->setReadOnly(true);
  chat_ = new QCheckBox(tr("Chat template"));
  chat_->setChecked(true);
  max_tokens_ = new QSpinBox();
  max_tokens_->setRange(0, 8192);
  max_tokens_->setValue(128);
  max_tokens_->setPrefix(tr("max new tokens: "));
  run_ = new QPushButton(tr("Run"));
  run_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
  run_->setToolTip(tr("Run the prompt (Ctrl+Return)"));
  stop_ = new QPushButton(tr("Stop"));
  stop_->setShortcut(QKeySequence(Qt::Key_Escape));
  stop_->setToolTip(tr("Stop the run at the next layer or token (Esc)"));
  connect(run_, &QPushButton::clicked, this, &MainWindow::startRun);
  connect(stop_, &QPushButton::clicked, this, [this] { worker_->cancel(); });

  layers_ = new QTableWidget(0, 5);
  layers_->setHorizontalHeaderLabels({tr("Layer"), tr("Mode"), tr("Source"), tr("Prefill ms"), tr("KV KiB")});
  layers_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  layers_->verticalHeader()->hide();

  auto* controls = new QHBoxLayout();
  controls->addWidget(chat_);
  controls->addWidget(max_tokens_);
  controls->addStretch();
  controls->addWidget(run_);
  controls->addWidget(stop_);
  auto* left = new QWidget();
  auto* left_layout = new QVBoxLayout(left);
  left_layout->addWidget(model_label_);
  left_layout->addWidget(prompt_, 2);
  left_layout->addLayout(controls);
  left_layout->addWidget(output_, 2);
  auto* split = new QSplitter();
  split->addWidget(left);
  split->addWidget(layers_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  setCentralWidget(split);
  resize(1200, 800);
  setBusy(false);
  run_->setEnabled(false);
}

MainWindow::~MainWindow() {
  worker_->cancel();
  thread_.quit();
  thread_.wait();
}

void MainWindow::openModel(const QString& path) {
  run_->setEnabled(false);
  model_label_->setText(tr("Loading %1…").arg(path));
  emit requestLoad(path, QStringLiteral("auto"));
}

void MainWindow::setPrompt(const QString& text) { prompt_->setPlainText(text); }

void MainWindow::startRun() {
  engine::RunRequest request;
  request.prompt = prompt_->toPlainText().toStdString();
  request.settings.chat = chat_->isChecked();
  request.settings.max_new_tokens = max_tokens_->value();
  request.settings.route = "fa";
  output_->clear();
  layers_->setRowCount(0);
  setBusy(true);
  statusBar()->showMessage(tr("Prefilling…"));
  emit requestRun(request);
}

void MainWindow::onModelLoaded(const engine::ModelSummary& s) {
  n_layers_ = s.config.n_layers;
  model_label_->setText(tr("%1 — %2, %3 layers, %4/%5 heads, context %6, %7")
                            .arg(QString::fromStdString(s.name), QString::fromStdString(s.config.architecture))
                            .arg(s.config.n_layers)
                            .arg(s.config.n_heads)
                            .arg(s.config.n_kv_heads)
                            .arg(s.config.context_length)
                            .arg(QString::fromStdString(s.quantization)));
  statusBar()->showMessage(tr("Model loaded"), 3000);
  run_->setEnabled(true);
  emit modelReady();
}

void MainWindow::onLayer(const engine::LayerReport& l) {
  const int row = layers_->rowCount();
  layers_->insertRow(row);
  const QStringList cells = {QString::number(l.index), QString::fromLatin1(engine::layer_mode_name(l.mode)),
                             QString::fromLatin1(engine::decision_source_name(l.source)),
                             QString::number(l.prefill_ms, 'f', 2), QString::number(l.kv_bytes / 1024.0, 'f', 1)};
  for (int c = 0; c < cells.size(); ++c) layers_->setItem(row, c, new QTableWidgetItem(cells[c]));
  statusBar()->showMessage(tr("Prefill: layer %1 of %2").arg(l.index + 1).arg(n_layers_));
}

void MainWindow::onToken(int, const engine::TokenReport& t) {
  output_->moveCursor(QTextCursor::End);
  output_->insertPlainText(QString::fromStdString(t.text));
}

void MainWindow::onFinished(const engine::RunReport& r) {
  setBusy(false);
  statusBar()->showMessage(tr("%1 — prompt %2 tokens, TTFT %3 ms, decode %4 tok/s")
                               .arg(QString::fromStdString(r.status))
                               .arg(r.prompt_tokens)
                               .arg(r.summary.ttft_ms, 0, 'f', 1)
                               .arg(r.summary.decode_tokens_per_s, 0, 'f', 1));
  emit runCompleted(r);
}

void MainWindow::onFailed(const QString& message) {
  setBusy(false);
  statusBar()->showMessage(tr("Error: %1").arg(message));
  emit errorShown(message);
  // Scripted runs quit on errorShown; a person gets the dialog.
  if (!QCoreApplication::arguments().contains(QStringLiteral("--quit-after-run")))
    QMessageBox::critical(this, tr("FluxScope"), message);
}

void MainWindow::setBusy(bool busy) {
  run_->setEnabled(!busy);
  stop_->setEnabled(busy);
}

}  // namespace flux::ui
