// MainWindow's help side: the spdlog-backed log, Help → Show Log, diagnostics, copying output and sample prompts.
#include <QApplication>
#include <QClipboard>
#include <QDesktopServices>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QMenu>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QStatusBar>
#include <QSysInfo>
#include <QTextDocumentFragment>
#include <QThread>
#include <QUrl>
#include <QVBoxLayout>

#include <spdlog/spdlog.h>

#include "ui/app_log.h"
#include "ui/main_window.h"
#include "ui/token_output_view.h"

namespace flux::ui {

void MainWindow::log(const QString& line) {
  spdlog::info("{}", line.toStdString());
}

void MainWindow::logError(const QString& line) {
  spdlog::error("{}", line.toStdString());
}

QString MainWindow::diagnostics() const {
  QStringList lines;
  lines << QStringLiteral("FluxScope %1").arg(QApplication::applicationVersion());
  lines << QStringLiteral("Qt %1 (built with %2), platform %3")
               .arg(QString::fromLatin1(qVersion()), QStringLiteral(QT_VERSION_STR), QApplication::platformName());
  lines << QStringLiteral("OS %1, CPU %2, %3 threads")
               .arg(QSysInfo::prettyProductName(), QSysInfo::currentCpuArchitecture())
               .arg(QThread::idealThreadCount());
  lines << QTextDocumentFragment::fromHtml(model_label_->text()).toPlainText();
  if (has_report_)
    lines << QStringLiteral("last run: backend %1, device %2")
                 .arg(QString::fromStdString(shown_report_.backend), QString::fromStdString(shown_report_.device));
  return lines.join(QLatin1Char('\n'));
}

void MainWindow::showLog() {
  QDialog dialog(this);
  dialog.setWindowTitle(tr("FluxScope log"));
  auto* text = new QPlainTextEdit(readLogTail());
  text->setReadOnly(true);
  text->setLineWrapMode(QPlainTextEdit::NoWrap);
  text->moveCursor(QTextCursor::End);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close);
  auto* open = buttons->addButton(tr("Open in Editor"), QDialogButtonBox::ActionRole);
  open->setToolTip(tr("Open the log file with the desktop's text viewer"));
  connect(open, &QPushButton::clicked, this, [] { QDesktopServices::openUrl(QUrl::fromLocalFile(logFilePath())); });
  connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
  auto* layout = new QVBoxLayout(&dialog);
  auto* where = new QLabel(tr("Log file: %1").arg(QDir::toNativeSeparators(logFilePath())));
  where->setTextInteractionFlags(Qt::TextSelectableByMouse);
  layout->addWidget(where);
  layout->addWidget(text);
  layout->addWidget(buttons);
  dialog.resize(900, 550);
  dialog.exec();
}

void MainWindow::copyOutput() {
  QApplication::clipboard()->setText(output_->toPlainText());
  statusBar()->showMessage(tr("Output copied to the clipboard"), 3000);
}

void MainWindow::addSamplesMenu(QMenu* tools) {
  auto* samples = tools->addMenu(tr("&Sample Prompts"));
  samples->setToolTip(tr("Replace the prompt with one of the bundled sample prompts"));
  const struct {
    const char* title;
    const char* file;
  } items[] = {{QT_TR_NOOP("Short question"), "short.txt"},
               {QT_TR_NOOP("Long article to summarize (~1,500 words)"), "long_article.txt"}};
  for (const auto& item : items) {
    const QString path = QStringLiteral(":/prompts/") + QString::fromLatin1(item.file);
    samples->addAction(tr(item.title), this, [this, path] { openPromptFile(path); });
  }
}

}  // namespace flux::ui
