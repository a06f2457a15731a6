// fluxscope: the desktop app. Scriptable start: --model M [--prompt-file F] [-n N] [--sa-kind K] [--route PRESET]
// [--override SPEC] [--route-file F] [--ctx N] [--threads N] [--repeat N] [--open-report F] [--run]
// [--export-report OUT.json|csv|html|pdf] [--screenshot OUT.png] [--overwrite] [--dark] [--quit-after-run]
// [--compare-with-route ROUTE] [--compare-with-baselines SEEDS] [--needle-grid CONTEXTS/DEPTHS/ROUTES]
// [--needle-grid-export OUT.png|svg] [--show-dock NAME] [--measure-open REPORT]; works under
// QT_QPA_PLATFORM=offscreen. Existing output files are never replaced without --overwrite.
// Exit codes: 0 ok, 1 run or model error, 2 bad arguments (an output path that cannot or may not be written
// included), 3 export or screenshot failed.
#include <QApplication>
#include <QCommandLineParser>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFile>
#include <QItemSelectionModel>
#include <QListView>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <utility>

#include <QSpinBox>

#include "engine/backend/cpu_threads.h"
#include "ui/app_log.h"
#include "ui/layer_map_widget.h"
#include "ui/layer_table_model.h"
#include "ui/main_window.h"
#include "ui/needle_grid_dialog.h"
#include "ui/needle_grid_view.h"
#include "ui/run_history_model.h"
#include "ui/report_export.h"
#include "ui/run_controls.h"

// A numeric option into its spin box, or why it cannot go there ("" when it went): QString::toInt read "abc" as 0
// and the box clamped 99999999 to its maximum, both silently.
static QString set_spin_option(const QCommandLineParser& parser, const QString& name, QSpinBox* box) {
  if (!parser.isSet(name)) return {};
  const QString text = parser.value(name);
  bool ok = false;
  const qlonglong v = text.toLongLong(&ok);
  if (!ok) return QString("--%1 %2: not a whole number").arg(name, text);
  if (v < box->minimum() || v > box->maximum())
    return QString("--%1 %2: must lie in %3..%4").arg(name, text).arg(box->minimum()).arg(box->maximum());
  box->setValue(static_cast<int>(v));
  return {};
}

int main(int argc, char** argv) {
  flux::engine::restart_with_short_openmp_spin(argv);  // before any OpenMP use (see cpu_threads.h)
  QApplication app(argc, argv);
  QApplication::setApplicationName("FluxScope");
  QApplication::setOrganizationName("FluxScope");
  QApplication::setApplicationVersion("0.1.0");
  flux::ui::installAppLogger();  // spdlog to AppDataLocation/logs/fluxscope.log, engine lines included
  QCommandLineParser parser;
  parser.setApplicationDescription("FluxScope — Flux Attention inspection");
  parser.addHelpOption();
  parser.addVersionOption();
  parser.addOption({{"m", "model"}, "Model to open (GGUF file or HF directory).", "path"});
  parser.addOption({{"f", "prompt-file"}, "Prompt text file.", "path"});
  parser.addOption({"route",
                    "Routing preset: router, fa, sa, first-k:N, every-other (default: router when the model has "
                    "one, else fa).",
                    "preset"});
  parser.addOption({{"n", "n-predict"}, "Max new tokens of the run.", "n"});
  parser.addOption({"sa-kind", "What SA means: streaming, triangle or xattn.", "kind"});
  parser.addOption({"override", "Per-layer overrides, e.g. 0-3=FA,12=SA.", "spec"});
  parser.addOption({"route-file",
                    "A routing plan saved with File → Save Route… (route text, or JSON with \"spec\"); applied "
                    "after --route / --override.",
                    "path"});
  parser.addOption({"ctx", "Context size in tokens of the model load (0 = the model's).", "n"});
  parser.addOption({"threads", "CPU threads of the model load (0 = all cores).", "n"});
  parser.addOption({"repeat", "Run the same configuration N times (Run → Repeat…): one history entry.", "n"});
  parser.addOption({"open-report", "Open a saved JSON report into the Runs list (File → Open Report…).", "path"});
  parser.addOption({"run", "Run the prompt once the model is loaded."});
  parser.addOption({"export-report", "Write the finished run's report (.json, .csv, .html or .pdf).", "path"});
  parser.addOption({"screenshot", "Save a PNG of the whole window after the run.", "path"});
  parser.addOption({"overwrite", "Replace --export-report / --screenshot files that already exist."});
  parser.addOption({"dark", "Start with the dark palette (View → Dark palette)."});
  parser.addOption({"backend", "Backend of the model load: auto, cpu or cuda (File → Backend).", "name"});
  parser.addOption({"quit-after-run",
                    "Quit when the run finishes (exit 1 on an error); needs --run or --needle-grid."});
  parser.addOption({"compare-with-route",
                    "After the run(s), run the same prompt again with this route (a preset) and compare the two "
                    "entries in the Comparison dock.",
                    "route"});
  parser.addOption({"compare-with-baselines",
                    "After the run: Compare with baselines… with this many random:match seeds (the previous router "
                    "too when one is shipped); the Comparison dock shows them.",
                    "seeds"});
  parser.addOption({"needle-grid",
                    "Instead of --run: the needle grid CONTEXTS/DEPTHS/ROUTES, e.g. 512,1K/0,50,100/fa,sa:streaming "
                    "(Tools → Needle Sweep…; -n = new tokens per cell); routes may name paths "
                    "(router-file:/dir/r.router.safetensors, file:/dir/route.json), separated by commas.",
                    "spec"});
  parser.addOption({"needle-grid-export",
                    "After --needle-grid: write the grid as a picture (.png or .svg, the Needle grid dock's Export…).",
                    "path"});
  parser.addOption({"show-dock",
                    "Raise a dock before the screenshot: timing, comparison, attention, memory, needle, runs, map.",
                    "name"});
  parser.addOption({"measure-open",
                    "Open a report through File → Open Report with a 5 ms ticker on the GUI thread, print the "
                    "longest event-loop stall and quit (a measurement; no model needed).",
                    "report"});
  parser.process(app);

  const bool quit_after = parser.isSet("quit-after-run");
  // Without a run to finish the app would never quit: a start-up error, not a window that waits forever.
  if (quit_after && !parser.isSet("run") && !parser.isSet("needle-grid")) {
    std::fprintf(stderr, "error: --quit-after-run needs --run or --needle-grid (there is no run to quit after)\n");
    return 2;
  }
  // Check the output paths before loading anything: a typo should not cost a whole run.
  for (const char* option : {"export-report", "screenshot", "needle-grid-export"}) {
    if (!parser.isSet(option)) continue;
    const QString error = flux::ui::checkExportPath(parser.value(option), parser.isSet("overwrite"));
    if (!error.isEmpty()) {
      std::fprintf(stderr, "error: --%s: %s\n", option, qPrintable(error));
      return 2;
    }
  }
  const QString backend = parser.value("backend");
  if (parser.isSet("backend") && backend != "auto" && backend != "cpu" && backend != "cuda") {
    std::fprintf(stderr, "error: --backend must be auto, cpu or cuda\n");
    return 2;
  }
  flux::ui::MainWindow window;
  window.setErrorDialogs(!quit_after);
  if (parser.isSet("dark")) window.setDark(true);
  if (parser.isSet("backend")) window.setBackend(backend);
  window.show();
  if (parser.isSet("measure-open")) {
    // The window's event loop while a report opens: a 5 ms ticker records the longest gap until the report is
    // shown and its attention map rastered (a settle of 1 s after reportOpened covers the raster).
    const QString path = parser.value("measure-open");
    auto* ticker = new QTimer(&window);
    auto* since = new QElapsedTimer();
    auto* total = new QElapsedTimer();
    auto max_gap = std::make_shared<qint64>(0);
    ticker->setInterval(5);
    QObject::connect(ticker, &QTimer::timeout, [=] { *max_gap = std::max(*max_gap, since->restart()); });
    QObject::connect(&window, &flux::ui::MainWindow::reportOpened, &window,
                     [=, &window](const QString&, const QString& error) {
                       const qint64 opened = total->elapsed();
                       if (auto* d = window.findChild<QDockWidget*>("attentionDock")) d->raise();
                       QTimer::singleShot(1000, &window, [=] {
                         std::printf("measure-open %s: %s; reportOpened after %lld ms; longest GUI-thread stall "
                                     "%lld ms (5 ms ticker, until 1 s after the report was shown)\n",
                                     qPrintable(path), error.isEmpty() ? "opened" : qPrintable(error), opened,
                                     *max_gap);
                         std::fflush(stdout);
                         QApplication::exit(error.isEmpty() ? 0 : 1);
                       });
                     });
    QTimer::singleShot(300, &window, [=, &window] {  // once the window is up and the history read
      since->start();
      total->start();
      ticker->start();
      window.openReportFileAsync(path);
    });
    return app.exec();
  }
  // ctx and threads before the model loads: they are load settings (no reload happens without a model).
  for (const auto& [name, box] : {std::pair{QString("n-predict"), window.runControls()->maxTokens()},
                                  std::pair{QString("ctx"), window.runControls()->contextSize()},
                                  std::pair{QString("threads"), window.runControls()->threads()}}) {
    if (const QString error = set_spin_option(parser, name, box); !error.isEmpty()) {
      std::fprintf(stderr, "error: %s\n", qPrintable(error));
      return 2;
    }
  }
  const int repeat = parser.isSet("repeat") ? parser.value("repeat").toInt() : 1;
  if (repeat < 1) {
    std::fprintf(stderr, "error: --repeat must be 1 or more\n");
    return 2;
  }
  if (parser.isSet("open-report")) {
    const QString error = window.openReportFile(parser.value("open-report"));
    if (!error.isEmpty()) {
      std::fprintf(stderr, "error: --open-report: %s\n", qPrintable(error));
      return 2;
    }
  }
  if (parser.isSet("sa-kind") && !window.layerMap()->setSparseKind(parser.value("sa-kind"))) {
    std::fprintf(stderr, "error: --sa-kind must be streaming, triangle or xattn\n");
    return 2;
  }
  if (parser.isSet("prompt-file")) {
    QFile f(parser.value("prompt-file"));
    if (!f.open(QIODevice::ReadOnly)) {
      std::fprintf(stderr, "error: cannot read %s\n", qPrintable(f.fileName()));
      return 2;
    }
    window.setPrompt(QString::fromUtf8(f.readAll()));
  }
  auto quit = [](int code) { QTimer::singleShot(0, [code] { QApplication::exit(code); }); };
  const bool scripted_route = parser.isSet("route") || parser.isSet("override");
  bool scripted = false;  // the script acts on the first load only (changing ctx/threads later reloads the model)
  QObject::connect(&window, &flux::ui::MainWindow::modelReady, &window, [&] {
    if (std::exchange(scripted, true)) return;
    // Loading a model with a router resets the SA kind to the router's; the user's --sa-kind wins.
    if (parser.isSet("sa-kind")) window.layerMap()->setSparseKind(parser.value("sa-kind"));
    if (scripted_route) {
      try {
        const QString route = parser.isSet("route") ? parser.value("route") : window.layerModel()->preset();
        window.setRoute(route, parser.value("override"));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        if (quit_after) quit(2);
        return;
      }
    }
    if (parser.isSet("route-file")) {
      const QString error = window.loadRouteFrom(parser.value("route-file"));
      if (!error.isEmpty()) {
        std::fprintf(stderr, "error: --route-file: %s\n", qPrintable(error));
        if (quit_after) quit(2);
        return;
      }
    }
    if (parser.isSet("needle-grid")) {
      QString error;
      flux::ui::NeedleGridSpec spec = flux::ui::parseNeedleGridArgument(parser.value("needle-grid"), &error);
      if (!error.isEmpty()) {
        std::fprintf(stderr, "error: --needle-grid: %s\n", qPrintable(error));
        if (quit_after) quit(2);
        return;
      }
      spec.max_new_tokens = window.runControls()->maxTokens()->value();
      window.startNeedleGrid(spec);
      return;
    }
    if (parser.isSet("run")) window.startRepeat(repeat);
  });
  // The end of the script: the report, the screenshot (after a dock was raised), quit.
  auto finish = [&] {
    if (parser.isSet("show-dock")) {
      const QString name = parser.value("show-dock");
      const QString object = name == "needle" ? "needleGridDock" : name == "runs" ? "historyDock"
                             : name == "map"  ? "layerMapDock"
                                              : name + "Dock";
      if (auto* d = window.findChild<QDockWidget*>(object)) {
        d->show();
        d->raise();
      } else {
        std::fprintf(stderr, "warning: --show-dock: no dock %s\n", qPrintable(name));
      }
    }
    {
      // Let the layouts settle (the headline re-wraps, the charts flush) before grabbing the window.
      QTimer::singleShot(400, &window, [&] {
        int code = 0;
        if (parser.isSet("export-report")) {
          const QString error = window.exportReportTo(parser.value("export-report"));
          if (!error.isEmpty()) {
            std::fprintf(stderr, "error: %s\n", qPrintable(error));
            code = 3;
          }
        }
        if (parser.isSet("needle-grid-export")) {
          const QString error = window.needleGrid()->exportPicture(parser.value("needle-grid-export"));
          if (!error.isEmpty()) {
            std::fprintf(stderr, "error: %s\n", qPrintable(error));
            code = 3;
          }
        }
        // PNG quality 0 = zlib level 9: the committed screenshots stay small.
        if (parser.isSet("screenshot") && !window.grab().save(parser.value("screenshot"), "PNG", 0)) {
          std::fprintf(stderr, "error: cannot write %s\n", qPrintable(parser.value("screenshot")));
          code = 3;
        }
        if (quit_after) quit(code);
      });
    }
  };
  if (parser.isSet("needle-grid"))
    QObject::connect(&window, &flux::ui::MainWindow::needleGridCompleted, &window, [&] { finish(); });
  else if (parser.isSet("run")) {
    int completed = 0;
    QObject::connect(&window, &flux::ui::MainWindow::runCompleted, &window, [&] {
      if (parser.isSet("compare-with-route") && ++completed == 1) {
        try {
          window.setRoute(parser.value("compare-with-route"), {});
        } catch (const std::exception& e) {
          std::fprintf(stderr, "error: --compare-with-route: %s\n", e.what());
          if (quit_after) quit(2);
          return;
        }
        QTimer::singleShot(0, &window, [&] { window.startRepeat(repeat); });
        return;
      }
      static bool baselines_started = false;  // the first run's completion starts them, theirs do not repeat it
      if (parser.isSet("compare-with-baselines") && !std::exchange(baselines_started, true)) {
        flux::ui::BaselineOptions options;
        options.random_seeds = std::max(1, parser.value("compare-with-baselines").toInt());
        options.previous_router = flux::ui::previousRouterFile().toStdString();
        QObject::connect(&window, &flux::ui::MainWindow::baselinesCompleted, &window, [&] { finish(); });
        QTimer::singleShot(0, &window, [&window, options] { window.startBaselines(options); });
        return;
      }
      if (parser.isSet("compare-with-route")) {
        // The two entries, selected together: the Comparison dock shows them.
        const int n = window.history()->count();
        auto* sel = window.historyView()->selectionModel();
        // B first, so the layer map keeps showing the second run's plan and times.
        sel->select(window.history()->index(n - 1), QItemSelectionModel::ClearAndSelect);
        sel->select(window.history()->index(n - 2), QItemSelectionModel::Select);
      }
      finish();
    });
  }
  if (quit_after)
    QObject::connect(&window, &flux::ui::MainWindow::errorShown, &window, [&](const QString& message) {
      std::fprintf(stderr, "error: %s\n", qPrintable(message));
      quit(1);
    });
  if (parser.isSet("model"))
    window.openModel(parser.value("model"));
  else
    window.openLastModel();  // a plain start continues where the last session was
  return app.exec();
}
