// fluxscope: the desktop app. Scriptable start: --model M [--prompt-file F] [--run] [--screenshot OUT.png]
// [--quit-after-run] works under QT_QPA_PLATFORM=offscreen and Xvfb.
#include <QApplication>
#include <QCommandLineParser>
#include <QFile>
#include <QTimer>

#include <cstdio>

#include "ui/main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("FluxScope");
  QApplication::setOrganizationName("FluxScope");
  QCommandLineParser parser;
  parser.setApplicationDescription("FluxScope — Flux Attention inspection");
  parser.addHelpOption();
  parser.addOption({"model", "Model to open (GGUF file or HF directory).", "path"});
  parser.addOption({"prompt-file", "Prompt text file.", "path"});
  parser.addOption({"run", "Run the prompt once the model is loaded."});
  parser.addOption({"screenshot", "Save a PNG of the window after the run.", "path"});
  parser.addOption({"quit-after-run", "Quit when the run finishes (exit 1 on an error)."});
  parser.process(app);

  flux::ui::MainWindow window;
  window.show();
  if (parser.isSet("prompt-file")) {
    QFile f(parser.value("prompt-file"));
    if (!f.open(QIODevice::ReadOnly)) {
      std::fprintf(stderr, "error: cannot read %s\n", qPrintable(f.fileName()));
      return 1;
    }
    window.setPrompt(QString::fromUtf8(f.readAll()));
  }
  const bool quit_after = parser.isSet("quit-after-run");
  if (parser.isSet("run")) {
    QObject::connect(&window, &flux::ui::MainWindow::modelReady, &window, &flux::ui::MainWindow::startRun);
    QObject::connect(&window, &flux::ui::MainWindow::runCompleted, &window, [&] {
      if (parser.isSet("screenshot")) window.grab().save(parser.value("screenshot"));
      if (quit_after) QTimer::singleShot(0, &app, [] { QApplication::exit(0); });
    });
  }
  if (quit_after)
    QObject::connect(&window, &flux::ui::MainWindow::errorShown, &window,
                     [] { QTimer::singleShot(0, [] { QApplication::exit(1); }); });
  if (parser.isSet("model")) window.openModel(parser.value("model"));
  return app.exec();
}
