// MainWindow's menus, toolbar and palettes: File (open model / folder / prompt, recent, backend, exports), Edit,
// Run, View (docks, dark palette), Tools (needle-in-a-haystack, sample prompts), Help.
#include <QAction>
#include <QActionGroup>
#include <QApplication>
#include <QClipboard>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QSettings>
#include <QStatusBar>
#include <QStyle>
#include <QStyleFactory>
#include <QToolBar>
#include <QVBoxLayout>

#include "engine/runtime/trace_export.h"
#include "ui/haystack_dialog.h"
#include "ui/main_window.h"
#include "ui/timing_charts.h"
#include "ui/plain_message.h"

namespace flux::ui {

void MainWindow::buildMenus() {
  auto* file = menuBar()->addMenu(tr("&File"));
  auto* open = file->addAction(tr("&Open Model…"), QKeySequence::Open, this, [this] {
    const QString start = QSettings().value(QStringLiteral("lastModel")).toString();
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Model"), QFileInfo(start).path(),
                                                      tr("GGUF models (*.gguf);;All files (*)"));
    if (!path.isEmpty()) openModel(path);
  });
  open->setToolTip(tr("Open a GGUF model file (Ctrl+O); .gguf files can also be dropped on the window"));
  file->addAction(tr("Open Model &Folder…"), this,
                  [this] {
                    const QString path = QFileDialog::getExistingDirectory(this, tr("Open Hugging Face Model Folder"));
                    if (!path.isEmpty()) openModel(path);
                  })
      ->setToolTip(tr("Open a Hugging Face model folder (config.json, *.safetensors, tokenizer files)"));
  file->addAction(tr("Open &Prompt…"), this, [this] {
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Prompt"), {}, tr("Text (*.txt);;All files (*)"));
    if (!path.isEmpty()) openPromptFile(path);
  });
  file->addAction(tr("Open &Report…"), this, &MainWindow::openReportDialog)
      ->setToolTip(tr("Load a saved JSON run report into the Runs list"));
  file->addAction(tr("Open &Needle Grid…"), this, &MainWindow::openNeedleGridDialog)
      ->setToolTip(tr("Show a needle grid saved by Tools → Needle Sweep… in the Needle grid dock"));
  recent_menu_ = file->addMenu(tr("&Recent Models"));
  addBackendMenu(file);
  file->addSeparator();
  file->addAction(tr("Save Ro&ute…"), this, &MainWindow::saveRouteDialog)
      ->setToolTip(tr("Save the routing plan (preset, overrides, SA/FA kinds and parameters) in the route grammar"));
  file->addAction(tr("&Load Route…"), this, &MainWindow::loadRouteDialog)
      ->setToolTip(tr("Load a routing plan saved with Save Route… (text or JSON)"));
  file->addSeparator();
  export_action_ = file->addAction(tr("&Export Report…"), QKeySequence::Save, this, &MainWindow::exportReportDialog);
  // Nothing to export until a run finished (or a report was opened); the tooltip says so.
  export_action_->setEnabled(false);
  export_action_->setToolTip(tr("Run the prompt first (or open a report): there is no run to export yet"));
  file->setToolTipsVisible(true);
  export_comparison_action_ = file->addAction(tr("Export Co&mparison…"), this, &MainWindow::exportComparisonDialog);
  export_comparison_action_->setToolTip(tr("Select two runs in the Runs dock first"));
  export_comparison_action_->setEnabled(false);
  file->addAction(tr("Export &Charts…"), this, &MainWindow::exportChartsDialog);
  // The shown run's timeline for Perfetto / chrome://tracing: the same writer as `fluxscope-cli generate --trace`.
  QAction* trace = file->addAction(tr("Export &Trace…"), this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, tr("Export Trace"), QStringLiteral("fluxscope-trace.json"),
                                                      tr("Chrome trace JSON (*.json)"));
    if (path.isEmpty()) return;
    try {
      engine::save_trace(shown_report_, path.toStdString());
      statusBar()->showMessage(tr("Trace written to %1 (open it in ui.perfetto.dev)").arg(path), 5000);
    } catch (const std::exception& e) {
      criticalPlain(this, tr("Export Trace"), QString::fromStdString(e.what()));
    }
  });
  trace->setToolTip(tr("The shown run as a Chrome trace-event timeline (Perfetto, chrome://tracing): a span per "
                       "layer's prefill and per decode step"));
  trace->setEnabled(false);
  connect(export_action_, &QAction::enabledChanged, trace, &QAction::setEnabled);
  file->addSeparator();
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

  auto* edit = menuBar()->addMenu(tr("&Edit"));
  copy_output_action_ = edit->addAction(tr("&Copy Output"), this, &MainWindow::copyOutput);
  copy_output_action_->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_C));
  copy_output_action_->setToolTip(tr("Copy the generated text to the clipboard (Ctrl+Shift+C)"));
  // The prompt as the model saw it (after the chat template), from the shown run's report: plain text, read-only.
  QAction* rendered = edit->addAction(tr("Show &Rendered Prompt…"), this, [this] {
    auto* dialog = new QDialog(this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    dialog->setWindowTitle(tr("Rendered Prompt"));
    auto* layout = new QVBoxLayout(dialog);
    layout->addWidget(new QLabel(tr("%1 tokens · chat format: %2")
                                     .arg(shown_report_.prompt_tokens)
                                     .arg(QString::fromStdString(shown_report_.chat_format.empty()
                                                                     ? std::string("not recorded (older report)")
                                                                     : shown_report_.chat_format)),
                                 dialog));
    auto* text = new QPlainTextEdit(QString::fromStdString(shown_report_.rendered_prompt), dialog);
    text->setObjectName(QStringLiteral("renderedPromptText"));
    text->setReadOnly(true);
    text->setLineWrapMode(QPlainTextEdit::WidgetWidth);
    layout->addWidget(text);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, dialog);
    connect(buttons, &QDialogButtonBox::rejected, dialog, &QDialog::close);
    layout->addWidget(buttons);
    dialog->resize(680, 440);
    dialog->show();
  });
  rendered->setToolTip(tr("The shown run's prompt after the chat template, as the tokenizer got it"));
  rendered->setEnabled(false);
  connect(export_action_, &QAction::enabledChanged, rendered, &QAction::setEnabled);

  auto* run = menuBar()->addMenu(tr("&Run"));
  run->addAction(run_action_);
  repeat_action_ = run->addAction(tr("Re&peat…"), this, &MainWindow::repeatDialog);
  repeat_action_->setToolTip(tr("Run the same configuration N times: median and spread in one history entry"));
  connect(run_action_, &QAction::enabledChanged, repeat_action_, &QAction::setEnabled);
  run->addAction(stop_action_);
  auto* tools = addToolBar(tr("Run"));
  tools->setObjectName(QStringLiteral("runToolBar"));
  tools->addAction(run_action_);
  tools->addAction(stop_action_);

  view_menu_ = menuBar()->addMenu(tr("&View"));
  for (auto* d : findChildren<QDockWidget*>()) view_menu_->addAction(d->toggleViewAction());
  view_menu_->addSeparator();
  dark_action_ = view_menu_->addAction(tr("&Dark palette"));
  dark_action_->setCheckable(true);
  connect(dark_action_, &QAction::toggled, this, &MainWindow::applyDark);

  auto* tools_menu = menuBar()->addMenu(tr("&Tools"));
  tools_menu->addAction(tr("&Needle in a Haystack…"), this, &MainWindow::haystackDialog)
      ->setToolTip(tr("Filler text of a chosen length with one fact hidden at a chosen depth, plus its question"));
  auto* sweep = tools_menu->addAction(tr("Needle &Sweep…"), this, &MainWindow::needleGridDialog);
  sweep->setToolTip(tr("Run a context × depth grid of needle prompts for chosen routes, each cell scored"));
  connect(run_action_, &QAction::enabledChanged, sweep, &QAction::setEnabled);
  addSamplesMenu(tools_menu);

  auto* help = menuBar()->addMenu(tr("&Help"));
  help->addAction(tr("Show &Log"), this, &MainWindow::showLog);
  help->addAction(tr("&Copy Diagnostics"), this, [this] {
    QApplication::clipboard()->setText(diagnostics());
    statusBar()->showMessage(tr("Diagnostics copied to the clipboard"), 3000);
  });
  help->addAction(tr("&About FluxScope"), this, [this] {
    QMessageBox::about(this, tr("About FluxScope"),
                       tr("FluxScope %1 — Flux Attention inspection (Qt %2)")
                           .arg(QApplication::applicationVersion(), QString::fromLatin1(qVersion())));
  });
}

void MainWindow::addBackendMenu(QMenu* file) {
  auto* menu = file->addMenu(tr("&Backend"));
  menu->setToolTip(tr("Where the next model load runs"));
  backend_group_ = new QActionGroup(this);
  const struct {
    const char* title;
    const char* value;
  } items[] = {
      {QT_TR_NOOP("Auto (CUDA when available)"), "auto"}, {QT_TR_NOOP("CPU"), "cpu"}, {QT_TR_NOOP("CUDA"), "cuda"}};
  for (const auto& item : items) {
    QAction* a = menu->addAction(tr(item.title));
    a->setCheckable(true);
    a->setData(QString::fromLatin1(item.value));
    backend_group_->addAction(a);
  }
  backend_group_->actions().front()->setChecked(true);
}

void MainWindow::setBackend(const QString& backend) {
  for (QAction* a : backend_group_->actions())
    if (a->data().toString() == backend) a->setChecked(true);
}

QString MainWindow::backend() const {
  const QAction* a = backend_group_->checkedAction();
  return a ? a->data().toString() : QStringLiteral("auto");
}

void MainWindow::haystackDialog() {
  HaystackDialog dialog(this);
  if (dialog.exec() != QDialog::Accepted) return;
  const HaystackPrompt p = dialog.prompt();
  setPrompt(p.text);
  statusBar()->showMessage(tr("Haystack prompt: the expected answer is %1").arg(p.answer), 15000);
}

void MainWindow::useHaystackPrompt(int words, int depth_percent, int seed) {
  HaystackDialog dialog(this);
  dialog.setWords(words);
  dialog.setDepthPercent(depth_percent);
  dialog.setSeed(seed);
  const HaystackPrompt p = dialog.prompt();
  setPrompt(p.text);
  statusBar()->showMessage(tr("Haystack prompt: the expected answer is %1").arg(p.answer), 15000);
}

void MainWindow::setDark(bool dark) {
  dark_action_->setChecked(dark);
}
bool MainWindow::isDark() const {
  return dark_action_->isChecked();
}

void MainWindow::applyDark(bool dark) {
  // Fusion draws every control from the palette, so both palettes look complete on every platform.
  QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
  if (!dark) {
    QApplication::setPalette(QApplication::style()->standardPalette());
    charts_->setDark(false);
    return;
  }
  // Derive the shades (light, midlight, mid, dark, shadow) from the button and window colours, then set the rest.
  QPalette p(QColor(60, 60, 64), QColor(45, 45, 48));
  p.setColor(QPalette::WindowText, QColor(230, 230, 230));
  p.setColor(QPalette::Base, QColor(30, 30, 32));
  p.setColor(QPalette::AlternateBase, QColor(40, 40, 44));
  p.setColor(QPalette::Text, QColor(230, 230, 230));
  p.setColor(QPalette::ButtonText, QColor(230, 230, 230));
  p.setColor(QPalette::BrightText, QColor(255, 120, 120));
  p.setColor(QPalette::Highlight, QColor(0x3b, 0x7d, 0xd8));
  p.setColor(QPalette::HighlightedText, Qt::white);
  p.setColor(QPalette::ToolTipBase, QColor(60, 60, 64));
  p.setColor(QPalette::ToolTipText, QColor(230, 230, 230));
  p.setColor(QPalette::PlaceholderText, QColor(140, 140, 140));
  p.setColor(QPalette::Link, QColor(0x6c, 0xa8, 0xf0));
  for (auto role : {QPalette::WindowText, QPalette::Text, QPalette::ButtonText})
    p.setColor(QPalette::Disabled, role, QColor(120, 120, 120));
  QApplication::setPalette(p);
  charts_->setDark(true);
}

}  // namespace flux::ui
