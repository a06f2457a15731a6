// The needle grid in the app (issue 15 point 6), with real runs on the demo model: Tools → Needle Sweep…'s grid of
// 2 contexts × 2 depths × routes fa and sa runs on the worker, every cell is scored by "the answer is in the output"
// (recomputed here from the cell's own text), the grid is saved in the runs folder and reads back equal (also in a
// new window), and Stop in the middle leaves a partial grid marked cancelled with the app usable. The grid's picture
// (PNG, SVG, the HTML report) is the dock's painting: one SVG rect per cell, PNG cells coloured by pass / fail. The
// static baselines (issue 16 point 3) run at the router's SA share of the same prompt, with the CLI's layer sets.
#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDockWidget>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QPushButton>
#include <QSpinBox>
#include <QTest>

#include <cmath>

#include <QSvgRenderer>
#include <QTemporaryDir>

#include "engine/routing/matched_baselines.h"
#include "engine/routing/route_spec.h"
#include "tests/ui/loaded_window.h"
#include "tests/ui/ui_tests.h"
#include "ui/main_window.h"
#include "ui/needle_grid_dialog.h"
#include "ui/needle_grid_picture.h"
#include "ui/needle_grid_view.h"
#include "ui/report_export.h"
#include "ui/run_controls.h"
#include "ui/run_history_model.h"
#include "ui/run_store.h"

using flux::ui::MainWindow;
using flux::ui::NeedleCell;
using flux::ui::NeedleGrid;
using flux::ui::NeedleGridCanvas;
using flux::ui::NeedleGridSpec;

namespace {

constexpr int kTimeoutMs = 300'000;
NeedleGridSpec smallGrid() {
  NeedleGridSpec spec;
  spec.contexts = {300, 600};  // small, so CPU time stays small
  spec.depths = {0, 100};
  spec.routes = {"fa", "sa"};
  spec.max_new_tokens = 16;  // the demo model restates the question before the number
  return spec;
}

// The rule, written again here on Qt strings: the expected answer appears in the output, case-insensitively.
bool answerInOutput(const NeedleCell& c) {
  return QString::fromStdString(c.output).contains(QString::fromStdString(c.answer).trimmed(), Qt::CaseInsensitive);
}

// A grid made by hand: 2 contexts × 3 depths × 3 routes, the last context of sa:streaming not run (cancelled), and
// random:match with 2 seeds (one passes where the other fails).
NeedleGrid handMadeGrid() {
  NeedleGrid g;
  g.spec.contexts = {300, 1024};
  g.spec.depths = {0, 50, 100};
  g.spec.routes = {"fa", "sa:streaming", "random:match"};
  g.spec.random_seeds = 2;
  g.route_specs = {"fa", "sa sa=streaming", "fa, round(f·L) random layers SA"};
  g.model_name = "hand-made";
  g.cancelled = true;
  for (const std::string& route : g.spec.routes)
    for (int context : g.spec.contexts)
      for (int depth : g.spec.depths) {
        if (route == "sa:streaming" && context == 1024) continue;
        for (int seed = route == "random:match" ? 1 : 0; seed <= (route == "random:match" ? 2 : 0); ++seed) {
          NeedleCell c;
          c.route = route;
          c.context = context;
          c.depth = depth;
          c.seed = seed;
          c.answer = "4711";
          c.passed = route == "fa" ? depth != 50 : route == "random:match" ? seed == 1 || depth == 0 : depth == 100;
          c.prefill_ms = 10.0 + depth;
          c.sa_fraction = route == "fa" ? 0.0 : route == "random:match" ? 0.4 : 1.0;
          g.cells.push_back(c);
        }
      }
  return g;
}

}  // namespace

class NeedleGridTest : public QObject {
  Q_OBJECT

 private slots:
  // fluxscope --needle-grid: the routes may name paths ('/' was the spec's separator and split them apart).
  void commandLineSpecTakesPaths() {
    QString error;
    const NeedleGridSpec spec = flux::ui::parseNeedleGridArgument(
        QStringLiteral("512,1K/0,50,100/fa,router-file:/opt/routers/previous/r1.router.safetensors,"
                       "file:runs/best/fixed.json, sa:streaming"),
        &error);
    QCOMPARE(error, QString());
    QCOMPARE(spec.contexts, (std::vector<int>{512, 1024}));
    QCOMPARE(spec.depths, (std::vector<int>{0, 50, 100}));
    QCOMPARE(spec.routes, (std::vector<std::string>{"fa", "router-file:/opt/routers/previous/r1.router.safetensors",
                                                    "file:runs/best/fixed.json", "sa:streaming"}));
    QCOMPARE(flux::ui::needleRouteRouterFile(spec.routes[1]),
             std::string("/opt/routers/previous/r1.router.safetensors"));
    for (const auto& [text, why] : {std::pair{"512/0", "expected CONTEXTS/DEPTHS/ROUTES"},
                                    std::pair{"512/0/", "no routes"}, std::pair{"512/fifty/fa", "fifty"},
                                    std::pair{"/0/fa", "the list is empty"}}) {
      QString e;
      QVERIFY(flux::ui::parseNeedleGridArgument(QString::fromLatin1(text), &e).routes.empty());
      QVERIFY2(e.contains(QString::fromUtf8(why)), qPrintable(QStringLiteral("%1: %2").arg(text, e)));
    }
  }

  void dialogBuildsTheSpec() {
    flux::ui::NeedleGridDialog dialog(false, QStringLiteral("fa"), {});
    dialog.contexts()->setText(QStringLiteral("1K, 300 2k"));
    dialog.depths()->setText(QStringLiteral("0,50 ,100"));
    dialog.maxTokens()->setValue(12);
    for (const char* r : {"fa", "sa:streaming", "sa:triangle", "sa:xattn", "plan"})
      dialog.route(QString::fromLatin1(r))->setChecked(QByteArray(r) == "fa" || QByteArray(r) == "sa:xattn");
    QVERIFY(!dialog.route(QStringLiteral("router"))->isEnabled());  // no router on this model
    QString error;
    const NeedleGridSpec spec = dialog.spec(&error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    QCOMPARE(spec.contexts, (std::vector<int>{1024, 300, 2048}));
    QCOMPARE(spec.depths, (std::vector<int>{0, 50, 100}));
    QCOMPARE(spec.routes, (std::vector<std::string>{"fa", "sa:xattn"}));
    QCOMPARE(spec.max_new_tokens, 12);
    QCOMPARE(spec.cellCount(), 18);
    dialog.depths()->setText(QStringLiteral("0, half"));
    QVERIFY(dialog.spec(&error).routes.empty());
    QVERIFY2(error.contains(QStringLiteral("half")), qPrintable(error));
  }

  void pictureIsTheDocksPainting() {
    const NeedleGrid g = handMadeGrid();
    QCOMPARE(g.cells.size(), std::size_t(6 + 3 + 12));
    const QSize natural = flux::ui::NeedleGridLayout::naturalSize(g);
    const flux::ui::NeedleGridLayout layout{g, natural.width()};
    QTemporaryDir dir;
    const QString png = dir.filePath(QStringLiteral("grid.png")), svg = dir.filePath(QStringLiteral("grid.svg"));
    QVERIFY(flux::ui::exportNeedleGridPicture(g, png).isEmpty());
    QVERIFY(flux::ui::exportNeedleGridPicture(g, svg).isEmpty());
    QVERIFY(flux::ui::exportNeedleGridPicture(g, dir.filePath(QStringLiteral("grid.bmp")))
                .contains(QStringLiteral(".png or .svg")));
    // PNG: the natural size, every cell in its colour — green passed, red failed, grey not run, random:match's
    // seeds mixed (1 of 2 passed: between red and green).
    const QImage image(png);
    QCOMPARE(image.size(), natural);
    int green = 0, red = 0, grey = 0, mixed = 0;
    for (int r = 0; r < 3; ++r)
      for (int d = 0; d < 3; ++d)
        for (int c = 0; c < 2; ++c) {
          const std::vector<const NeedleCell*> cells =
              g.cellsAt(g.spec.routes[std::size_t(r)], g.spec.contexts[std::size_t(c)], g.spec.depths[std::size_t(d)]);
          const QColor drawn = image.pixelColor(layout.cellRect(r, d, c).topLeft() + QPoint(2, 2));
          QCOMPARE(drawn, flux::ui::needleCellsColor(cells));
          if (cells.size() == 1) QCOMPARE(drawn, NeedleGridCanvas::cellColor(cells.front()));
          if (cells.empty()) QCOMPARE(drawn, NeedleGridCanvas::cellColor(nullptr));
          green += drawn == QColor(0x2e, 0x9d, 0x5b);
          red += drawn == QColor(0xd0, 0x45, 0x45);
          grey += cells.empty();
          mixed += cells.size() == 2 && cells[0]->passed != cells[1]->passed;
        }
    // fa: 4 passed, 2 failed; sa:streaming: 1 passed, 2 failed, 3 not run; random:match: both seeds passed at
    // depth 0 (2 cells), one of two elsewhere (4 cells).
    QCOMPARE(green, 4 + 1 + 2);
    QCOMPARE(red, 2 + 2);
    QCOMPARE(grey, 3);
    QCOMPARE(mixed, 4);
    // The dock's canvas paints the very same pixels.
    NeedleGridCanvas canvas;
    canvas.setGrid(g);
    canvas.resize(natural);
    QCOMPARE(canvas.grab().toImage().convertToFormat(QImage::Format_RGB32), image.convertToFormat(QImage::Format_RGB32));
    // SVG: one <rect> per cell position (18), the route titles and pass counts as text, a valid picture.
    QFile f(svg);
    QVERIFY(f.open(QIODevice::ReadOnly));
    const QString text = QString::fromUtf8(f.readAll());
    QCOMPARE(text.count(QStringLiteral("<rect")), 3 * 3 * 2);
    QVERIFY(text.contains(QStringLiteral("sa:streaming")));
    QVERIFY2(text.contains(QStringLiteral("4/6 passed")), qPrintable(text.left(2000)));
    QVERIFY(text.contains(QStringLiteral("1/3 passed")));
    // seed 1 passed 6, seed 2 passed 2
    QVERIFY2(text.contains(QStringLiteral("8/12 passed · 4.0 ± 2.8 per seed (2) · SA 40 %")), qPrintable(text));
    QSvgRenderer renderer(text.toUtf8());
    QVERIFY(renderer.isValid());
    QCOMPARE(renderer.viewBox(), QRect(QPoint(0, 0), natural));
    const NeedleGrid::SeedSpread spread = g.seedSpread("random:match");
    QCOMPARE(spread.seeds, 2);
    QCOMPARE(spread.mean, 4.0);
    QVERIFY(std::abs(spread.spread - std::sqrt(8.0)) < 1e-12);
    // The report carries the open grid as its own section (HTML: the SVG inline), and nothing without one.
    flux::engine::RunReport report;
    report.model_name = "hand-made";
    const QString html = flux::ui::reportHtml(report, {}, &g);
    QVERIFY(html.contains(QStringLiteral("<h2>Needle grid</h2>")));
    QCOMPARE(html.count(QStringLiteral("<rect")), 18);
    QVERIFY(html.contains(QStringLiteral("<td>random:match</td><td>8 / 12</td>")));
    QVERIFY(!flux::ui::reportHtml(report, {}).contains(QStringLiteral("Needle grid")));
    const QString pdf = dir.filePath(QStringLiteral("report.pdf"));
    QVERIFY(flux::ui::exportReport(report, pdf, {}, &g).isEmpty());
    QVERIFY(QFileInfo(pdf).size() > 0);
  }

  void scoringRuleIsTheSweeps() {
    using flux::ui::needleAnswerFound;
    QVERIFY(needleAnswerFound("The secret code for the vault in Osaka is 8919.", " 8919\n"));
    QVERIFY(needleAnswerFound("it is in OSAKA", "osaka"));
    QVERIFY(!needleAnswerFound("The code is 89 19.", "8919"));
    QVERIFY(!needleAnswerFound("", "8919"));
  }

  void gridRunsScoresAndRoundTrips() {
    auto w = flux::test::loadedDemoWindow(kTimeoutMs);
    w->startNeedleGrid(smallGrid());  // "sa" is not a grid route: refused before anything runs
    // (the routes are checked on the worker; the error comes back as a failed run)
    QSignalSpy failed(w.get(), &MainWindow::errorShown);
    QVERIFY(failed.wait(kTimeoutMs));
    QVERIFY2(failed.first().at(0).toString().contains(QStringLiteral("unknown route")),
             qPrintable(failed.first().at(0).toString()));
    QVERIFY(!w->isRunning());

    NeedleGridSpec spec = smallGrid();
    spec.routes = {"fa", "sa:streaming"};
    QSignalSpy done(w.get(), &MainWindow::needleGridCompleted);
    QSignalSpy runs(w.get(), &MainWindow::runCompleted);
    w->startNeedleGrid(spec);
    QVERIFY(w->isRunning());
    QVERIFY(done.wait(kTimeoutMs));
    const NeedleGrid grid = done.first().at(0).value<NeedleGrid>();
    const QString path = done.first().at(1).toString();
    QVERIFY(!grid.cancelled);
    QVERIFY(grid.error.empty());
    QCOMPARE(int(grid.cells.size()), 8);
    QCOMPARE(runs.count(), 0);  // the grid's runs are not run-history entries
    QCOMPARE(w->history()->count(), 0);
    int passed_fa = 0;
    for (const NeedleCell& c : grid.cells) {
      qInfo("  %s %d tokens depth %d: answer %s, output “%s”", c.route.c_str(), c.prompt_tokens, c.depth,
            c.answer.c_str(), QString::fromStdString(c.output).simplified().toUtf8().constData());
      QCOMPARE(c.status, std::string("ok"));
      QVERIFY(!c.answer.empty());
      QCOMPARE(c.passed, answerInOutput(c));
      QVERIFY(c.prefill_ms > 0.0);
      // The filler is sized with the model's tokenizer to reach the context.
      QVERIFY2(std::abs(c.prompt_tokens - c.context) <= c.context / 10,
               qPrintable(QStringLiteral("%1 tokens for %2").arg(c.prompt_tokens).arg(c.context)));
      QCOMPARE(c.sa_fraction, c.route == "fa" ? 0.0 : 1.0);
      passed_fa += c.route == "fa" && c.passed;
      QVERIFY(grid.cell(c.route, c.context, c.depth) == &c);  // every (route, context, depth) once
    }
    QCOMPARE(grid.passed("fa"), passed_fa);
    qInfo("needle grid 300/600 tokens × depth 0/100: fa %d/4 passed, sa:streaming %d/4 passed", grid.passed("fa"),
          grid.passed("sa:streaming"));
    QCOMPARE(grid.saFraction("sa:streaming"), 1.0);
    QCOMPARE(grid.route_specs.size(), std::size_t(2));
    // The dock shows it: one colour per cell by the score, its prefill time as text.
    NeedleGridCanvas* canvas = w->needleGrid()->canvas();
    QCOMPARE(canvas->grid(), grid);
    for (int r = 0; r < 2; ++r)
      for (int d = 0; d < 2; ++d)
        for (int c = 0; c < 2; ++c) {
          const NeedleCell* cell =
              grid.cell(spec.routes[std::size_t(r)], spec.contexts[std::size_t(c)], spec.depths[std::size_t(d)]);
          QVERIFY(cell);
          const QRect rect = canvas->cellRect(r, d, c);
          QVERIFY(!rect.isEmpty());
          const QImage shot = canvas->grab().toImage();
          QCOMPARE(shot.pixelColor(rect.topLeft() + QPoint(2, 2)), NeedleGridCanvas::cellColor(cell));
          QVERIFY(NeedleGridCanvas::cellText(cell).contains(QString::number(cell->prefill_ms, 'f', 0).left(1)));
          QVERIFY(NeedleGridCanvas::cellToolTip(*cell).contains(QString::fromStdString(cell->answer)));
        }
    QVERIFY(canvas->routeTitle(1).contains(QStringLiteral("SA 100 %")));
    // Saved next to the runs; the run reader skips it; a reopened file equals the grid.
    QVERIFY(path.startsWith(w->runStore().folder()));
    QVERIFY(path.endsWith(flux::ui::kNeedleGridSuffix));
    QCOMPARE(w->runStore().grids(), QStringList{path});
    QStringList skipped;
    QVERIFY(w->runStore().load(&skipped).empty());
    QVERIFY(skipped.isEmpty());
    QCOMPARE(flux::ui::readNeedleGridFile(path), grid);
    QCOMPARE(w->needleGrid()->savedGrids()->count(), 1);

    MainWindow again;  // a restart lists it and opens it
    QCOMPARE(again.needleGrid()->savedGrids()->count(), 1);
    QCOMPARE(again.needleGrid()->savedGrids()->itemData(0).toString(), path);
    QVERIFY(again.openNeedleGridFile(path).isEmpty());
    QCOMPARE(again.needleGrid()->canvas()->grid(), grid);
    const QString bad = again.openNeedleGridFile(QStringLiteral(FLUX_SOURCE_DIR "/README.md"));
    QVERIFY2(bad.contains(QStringLiteral("README.md")), qPrintable(bad));
  }

  void baselinesRunAtTheRoutersShare() {
    // The shipped Flux router and, under previous/, the Elastic one.
    auto w = std::make_unique<MainWindow>();
    w->setErrorDialogs(false);
    w->setRouterDirs({std::filesystem::path(FLUX_SOURCE_DIR "/resources/routers")});
    QSignalSpy ready(w.get(), &MainWindow::modelReady);
    w->openModel(flux::test::kDemoModel);
    QVERIFY(ready.wait(kTimeoutMs));
    const QString previous = flux::ui::previousRouterFile();
    QVERIFY2(previous.endsWith(QStringLiteral("previous/SmolLM2-135M-Instruct.elastic.router.safetensors")),
             qPrintable(previous));
    // The matched baselines need the router on the same prompt.
    NeedleGridSpec spec;
    spec.contexts = {300};
    spec.depths = {50};
    spec.routes = {"first-k:match"};
    spec.max_new_tokens = 8;
    QSignalSpy failed(w.get(), &MainWindow::errorShown);
    w->startNeedleGrid(spec);
    QVERIFY(failed.wait(kTimeoutMs));
    QVERIFY2(failed.first().at(0).toString().contains(QStringLiteral("add the route 'router'")),
             qPrintable(failed.first().at(0).toString()));

    spec.routes = {"random:match", "first-k:match", "router", "router-file:" + previous.toStdString()};
    spec.random_seeds = 2;
    QCOMPARE(spec.cellCount(), 5);
    QSignalSpy done(w.get(), &MainWindow::needleGridCompleted);
    w->startNeedleGrid(spec);
    QVERIFY(done.wait(kTimeoutMs));
    const NeedleGrid grid = done.first().at(0).value<NeedleGrid>();
    QVERIFY2(grid.error.empty(), grid.error.c_str());
    QVERIFY(!grid.cancelled);
    QCOMPARE(int(grid.cells.size()), 5);
    // The router ran first, the other router file next, the matched ones after (they take its share).
    QCOMPARE(grid.cells[0].route, std::string("router"));
    QCOMPARE(grid.cells[1].route, "router-file:" + previous.toStdString());
    const int n_layers = 30;
    const int k = flux::engine::matched_sa_layers(grid.cells[0].sa_fraction, n_layers);
    qInfo("router SA %.3f -> %d SA layers for the matched baselines; Elastic router SA %.3f",
          grid.cells[0].sa_fraction, k, grid.cells[1].sa_fraction);
    const flux::engine::RouteSpec plan = flux::engine::parse_route_spec(grid.cells[0].route_spec);
    const auto sets = flux::engine::random_match_sets(n_layers, k, 2);
    QCOMPARE(sets.size(), std::size_t(2));
    int seeds = 0;
    for (const NeedleCell& c : grid.cells) {
      QCOMPARE(c.status, std::string("ok"));
      QCOMPARE(c.passed, answerInOutput(c));
      if (!flux::ui::needleRouteIsMatched(c.route)) continue;
      QVERIFY(std::abs(c.sa_fraction - double(k) / n_layers) < 1e-9);  // exactly k layers ran SA
      const std::vector<int> layers = c.route == "first-k:match" ? flux::engine::first_k_match_layers(n_layers, k)
                                                                 : sets[std::size_t(c.seed - 1)];
      QCOMPARE(c.route_spec, flux::engine::describe(flux::engine::forced_sa_route(plan, layers)));
      seeds += c.route == "random:match";
    }
    QCOMPARE(seeds, 2);
    QCOMPARE(grid.seedSpread("random:match").seeds, 2);
    // The engine has its own router back: a plain router run routes like the grid's router cell.
    QVERIFY2(w->modelLabel()->text().contains(QStringLiteral("SmolLM2-135M-Instruct.router.safetensors")),
             qPrintable(w->modelLabel()->text()));
    // The dock shows one panel per route with its pass count; the export is that painting.
    QCOMPARE(w->needleGrid()->canvas()->grid(), grid);
    QVERIFY(w->needleGrid()->exportButton()->isEnabled());
    QVERIFY(w->needleGrid()->canvas()->routeTitle(0).startsWith(QStringLiteral("random:match · ")));
  }

  void cancelMidGridLeavesAPartialGrid() {
    auto w = flux::test::loadedDemoWindow(kTimeoutMs);
    NeedleGridSpec spec = smallGrid();
    spec.routes = {"fa", "sa:streaming"};
    QSignalSpy done(w.get(), &MainWindow::needleGridCompleted);
    w->startNeedleGrid(spec);
    // Stop once the first cell is in (the dock's status line says "cell 1 of 8").
    QTRY_VERIFY_WITH_TIMEOUT(w->needleGrid()->statusLabel()->text().contains(QStringLiteral("cell 1 of 8")),
                             kTimeoutMs);
    w->stopRun();
    QVERIFY(done.wait(kTimeoutMs));
    const NeedleGrid grid = done.first().at(0).value<NeedleGrid>();
    QVERIFY(grid.cancelled);
    QVERIFY(!grid.cells.empty());
    QVERIFY(int(grid.cells.size()) < 8);
    for (const NeedleCell& c : grid.cells) QCOMPARE(c.passed, answerInOutput(c));
    QVERIFY(w->needleGrid()->statusLabel()->text().contains(QStringLiteral("cancelled after")));
    const NeedleGrid saved = flux::ui::readNeedleGridFile(done.first().at(1).toString());
    QVERIFY(saved.cancelled);
    QCOMPARE(saved.cells.size(), grid.cells.size());
    // The app is usable: a normal run works.
    flux::test::checkANormalRunWorks(*w, kTimeoutMs);
  }
};

int runNeedleGridTest(int argc, char** argv) {
  NeedleGridTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "needle_grid_test.moc"
