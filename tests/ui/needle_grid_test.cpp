// The needle grid in the app (issue 15 point 6), with real runs on the demo model: Tools → Needle Sweep…'s grid of
// 2 contexts × 2 depths × routes fa and sa runs on the worker, every cell is scored by "the answer is in the output"
// (recomputed here from the cell's own text), the grid is saved in the runs folder and reads back equal (also in a
// new window), and Stop in the middle leaves a partial grid marked cancelled with the app usable.
#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDockWidget>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTest>

#include "tests/ui/ui_tests.h"
#include "ui/main_window.h"
#include "ui/needle_grid_dialog.h"
#include "ui/needle_grid_view.h"
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
const QString kModel = QStringLiteral(FLUX_SOURCE_DIR "/models/SmolLM2-135M-Instruct.Q4_1.gguf");

std::unique_ptr<MainWindow> loadedWindow() {
  auto w = std::make_unique<MainWindow>();
  w->setErrorDialogs(false);
  QSignalSpy ready(w.get(), &MainWindow::modelReady);
  w->openModel(kModel);
  [&] { QVERIFY(ready.wait(kTimeoutMs)); }();
  return w;
}

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

}  // namespace

class NeedleGridTest : public QObject {
  Q_OBJECT

 private slots:
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

  void scoringRuleIsTheSweeps() {
    using flux::ui::needleAnswerFound;
    QVERIFY(needleAnswerFound("The secret code for the vault in Osaka is 8919.", " 8919\n"));
    QVERIFY(needleAnswerFound("it is in OSAKA", "osaka"));
    QVERIFY(!needleAnswerFound("The code is 89 19.", "8919"));
    QVERIFY(!needleAnswerFound("", "8919"));
  }

  void gridRunsScoresAndRoundTrips() {
    auto w = loadedWindow();
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

  void cancelMidGridLeavesAPartialGrid() {
    auto w = loadedWindow();
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
    QVERIFY(!w->isRunning());
    w->setPrompt(QStringLiteral("Say hello."));
    w->runControls()->maxTokens()->setValue(2);
    QSignalSpy ran(w.get(), &MainWindow::runCompleted);
    w->startRun();
    QVERIFY(ran.wait(kTimeoutMs));
    QCOMPARE(QString::fromStdString(ran.first().at(0).value<flux::engine::RunReport>().status), QStringLiteral("ok"));
  }
};

int runNeedleGridTest(int argc, char** argv) {
  NeedleGridTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "needle_grid_test.moc"
