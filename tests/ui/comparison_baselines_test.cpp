// "Compare with baselines…" in the Comparison dock (issue 16 point 3), with real runs on the demo model: the
// baselines of a run with 13 of 30 layers SA run on the worker at that run's own share (every matched baseline ran
// exactly 13/30 SA layers, first-k:match the last 13, random:match the seeds' distinct sets of matched_baselines.h),
// each is a row of the panel (random:match as mean ± spread), pass / fail is the needle's answer in the output, Stop
// mid-way keeps the finished rows and leaves the app usable, and the export holds every baseline. The folding of the
// seeds and the baseline list are checked on hand-made values too.
#include <QFile>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>

#include <set>

#include "engine/routing/matched_baselines.h"
#include "engine/routing/route_spec.h"
#include "tests/ui/loaded_window.h"
#include "tests/ui/ui_tests.h"
#include "ui/comparison_baselines.h"
#include "ui/comparison_baselines_panel.h"
#include "ui/comparison_export.h"
#include "ui/comparison_view.h"
#include "ui/haystack_prompt.h"
#include "ui/main_window.h"
#include "ui/run_controls.h"
#include "ui/run_history_model.h"

using flux::ui::BaselineResult;
using flux::ui::BaselineRow;
using flux::ui::BaselineRun;
using flux::ui::BaselinesPanel;
using flux::ui::MainWindow;

namespace {

constexpr int kTimeoutMs = 300'000;

// A finished run of a short needle prompt with layers 0-12 SA (13 of 30), in the window's history.
std::unique_ptr<MainWindow> windowWithARun() {
  auto w = flux::test::loadedDemoWindow(kTimeoutMs);
  w->useHaystackPrompt(60, 50);
  w->runControls()->maxTokens()->setValue(12);
  w->setRoute(QStringLiteral("fa"), QStringLiteral("0-12=SA"));
  flux::test::runOnce(*w, kTimeoutMs);
  return w;
}

flux::engine::RunReport handMadeRun(int sa_layers) {
  flux::engine::RunReport r;
  r.status = "ok";
  r.settings.route = "fa sa=triangle";
  for (int i = 0; i < 30; ++i) {
    flux::engine::LayerReport l;
    l.index = i;
    l.mode = i < sa_layers ? flux::engine::LayerMode::SA : flux::engine::LayerMode::FA;
    r.layers.push_back(l);
  }
  r.summary.sa_fraction = sa_layers / 30.0;
  return r;
}

BaselineResult result(const std::string& name, int seed, double prefill, int passed) {
  BaselineResult r;
  r.name = name;
  r.seed = seed;
  r.sa_layers = 13;
  r.n_layers = 30;
  r.prefill_ms = prefill;
  r.decode_ms_per_token = prefill / 10;
  r.passed = passed;
  return r;
}

}  // namespace

class ComparisonBaselinesTest : public QObject {
  Q_OBJECT
 private slots:
  void baselineListIsTheRunsShare() {
    const flux::engine::RunReport run = handMadeRun(13);
    flux::ui::BaselineOptions o;
    o.random_seeds = 4;
    o.previous_router = "/tmp/previous.router.safetensors";
    const auto routes = flux::ui::comparisonBaselines(run, o);
    std::vector<std::string> names;
    for (const auto& r : routes) names.push_back(r.name);
    QCOMPARE(names, (std::vector<std::string>{"fa", "sa:streaming", "sa:triangle", "sa:xattn", "first-k:match",
                                              "random:match", "random:match", "random:match", "random:match",
                                              "router-file:/tmp/previous.router.safetensors"}));
    const flux::engine::RouteSpec plan = flux::engine::parse_route_spec(run.settings.route);
    QCOMPARE(flux::engine::describe(routes[4].route), flux::engine::describe(flux::engine::forced_sa_route(
                                                          plan, {17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29})));
    const auto sets = flux::engine::random_match_sets(30, 13, 4);
    std::set<std::string> distinct;
    for (int s = 0; s < 4; ++s) {
      QCOMPARE(routes[5 + s].seed, s + 1);
      QCOMPARE(routes[5 + s].route.overrides.size(), std::size_t(13));
      QCOMPARE(flux::engine::describe(routes[5 + s].route),
               flux::engine::describe(flux::engine::forced_sa_route(plan, sets[std::size_t(s)])));
      distinct.insert(flux::engine::describe(routes[5 + s].route));
    }
    QCOMPARE(distinct.size(), std::size_t(4));
    QCOMPARE(routes[9].route.preset, std::string("router"));
    // A stopped run has no share to match.
    flux::engine::RunReport stopped = run;
    stopped.status = "cancelled";
    QVERIFY_THROWS_EXCEPTION(flux::engine::Error, flux::ui::comparisonBaselines(stopped, o));
  }

  void seedsFoldIntoMeanAndSpread() {
    BaselineRun b;
    b.run = result("this run", 0, 5.0, 1);
    b.results = {result("fa", 0, 8.0, 1), result("random:match", 1, 10.0, 1), result("random:match", 2, 12.0, 0),
                 result("random:match", 3, 14.0, 1)};
    const std::vector<BaselineRow> rows = flux::ui::baselineRows(b);
    QCOMPARE(rows.size(), std::size_t(3));
    QCOMPARE(rows[0].name, std::string("this run"));
    QCOMPARE(rows[2].seeds, 3);
    QCOMPARE(rows[2].prefill_ms, 12.0);
    QCOMPARE(rows[2].prefill_spread, 2.0);
    QCOMPARE(rows[2].passed, 2);
    QVERIFY(std::abs(rows[2].pass_mean - 2.0 / 3.0) < 1e-12);
    QVERIFY(std::abs(rows[2].pass_spread - std::sqrt(1.0 / 3.0)) < 1e-12);
    QCOMPARE(flux::ui::passText(rows[2]), QStringLiteral("2/3 seeds (0.67 ± 0.58)"));
    QCOMPARE(flux::ui::passText(rows[1]), QStringLiteral("pass"));
    QCOMPARE(flux::ui::meanSpreadText(12.0, 2.0, 3, 1), QStringLiteral("12.0 ± 2.0"));
    // The needle's answer is what a needle prompt carries; other text carries none.
    const flux::ui::HaystackPrompt p = flux::ui::makeHaystackPrompt(50, 0.3, 4);
    QCOMPARE(flux::ui::haystackAnswer(p.text), p.answer);
    QVERIFY(flux::ui::haystackAnswer(QStringLiteral("Say hello.")).isEmpty());
  }

  void baselinesRunAtTheRunsOwnShare() {
    auto w = windowWithARun();
    const flux::engine::RunReport run = w->history()->report(0);
    QCOMPARE(run.summary.sa_fraction, 13.0 / 30.0);
    flux::ui::BaselineOptions o;
    o.random_seeds = 3;
    QSignalSpy done(w.get(), &MainWindow::baselinesCompleted);
    w->startBaselines(o);
    QVERIFY(w->isRunning());  // on the worker: the GUI thread is free, Stop is live
    QVERIFY(done.wait(kTimeoutMs));
    QCOMPARE(done.first().at(0).toBool(), false);
    QVERIFY2(done.first().at(1).toString().isEmpty(), qPrintable(done.first().at(1).toString()));
    const BaselinesPanel* panel = w->comparison()->baselines();
    const BaselineRun& b = panel->baselines();
    QCOMPARE(b.total, 8);
    QCOMPARE(int(b.results.size()), 8);
    QCOMPARE(b.run.sa_layers, 13);
    const std::string answer = flux::ui::haystackAnswer(w->prompt()->toPlainText()).toStdString();
    QVERIFY(!answer.empty());
    QCOMPARE(b.answer, answer);
    std::set<std::string> random_routes;
    for (const BaselineResult& r : b.results) {
      QCOMPARE(r.n_layers, 30);
      if (r.name == "fa") QCOMPARE(r.sa_layers, 0);
      if (r.name.starts_with("sa:")) QVERIFY2(r.sa_layers > 13, r.name.c_str());
      if (r.name == "first-k:match" || r.name == "random:match") QCOMPARE(r.sa_layers, 13);
      if (r.name == "random:match") random_routes.insert(r.route);
      // Pass / fail is the answer in the output, recomputed here on Qt strings.
      QCOMPARE(r.passed == 1, QString::fromStdString(r.output).contains(QString::fromStdString(answer)));
    }
    QCOMPARE(random_routes.size(), std::size_t(3));  // three different layer sets
    // The table: the run, fa, three SA kinds, first-k:match, random:match folded into one row.
    const QTableWidget* t = panel->table();
    QCOMPARE(t->rowCount(), 7);
    for (int r = 0; r < t->rowCount(); ++r) {
      const QString name = t->item(r, BaselinesPanel::ColRoute)->text();
      if (name == QStringLiteral("this run") || name.contains(QStringLiteral("match")))
        QCOMPARE(t->item(r, BaselinesPanel::ColSa)->text(), QStringLiteral("13/30 SA"));
    }
    QCOMPARE(t->item(6, BaselinesPanel::ColRoute)->text(), QStringLiteral("random:match (3 seeds)"));
    QVERIFY(t->item(6, BaselinesPanel::ColPrefill)->text().contains(QStringLiteral("±")));
    QVERIFY(t->item(6, BaselinesPanel::ColPass)->text().contains(QStringLiteral("seeds")));
    QVERIFY(panel->status()->text().contains(QStringLiteral("8 runs")));

    // The export (one run selected: the baselines alone) names every baseline run.
    QTemporaryDir dir;
    const QString html = dir.filePath(QStringLiteral("b.html")), csv = dir.filePath(QStringLiteral("b.csv"));
    QCOMPARE(w->exportComparisonTo(html), QString());
    QCOMPARE(w->exportComparisonTo(csv), QString());
    QFile fh(html), fc(csv);
    QVERIFY(fh.open(QIODevice::ReadOnly));
    QVERIFY(fc.open(QIODevice::ReadOnly));
    const QString page = QString::fromUtf8(fh.readAll());
    const QStringList lines = QString::fromUtf8(fc.readAll()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
    for (const BaselineResult& r : b.results) {
      QVERIFY2(page.contains(QString::fromStdString(r.route).toHtmlEscaped()), r.route.c_str());
      QVERIFY2(lines.filter(QStringLiteral("baseline,\"%1\",%2,").arg(r.name.c_str()).arg(r.seed)).size() == 1,
               r.name.c_str());
    }
    QVERIFY(page.contains(QStringLiteral("13/30 SA")));
    QVERIFY(page.contains(QStringLiteral("random:match")));
    QCOMPARE(lines.filter(QStringLiteral("baseline,")).size(), 9);  // the run and its 8 baselines
    // Next to a comparison of two runs: the same baselines in the JSON.
    const flux::ui::RunEntry& e = w->history()->entry(0);
    const QString json = dir.filePath(QStringLiteral("c.json"));
    QCOMPARE(flux::ui::exportComparison(e, e, json, &b), QString());
    QFile fj(json);
    QVERIFY(fj.open(QIODevice::ReadOnly));
    const auto j = nlohmann::json::parse(fj.readAll().toStdString());
    QCOMPARE(j["baselines"]["runs"].size(), std::size_t(8));
    QCOMPARE(j["baselines"]["summary"].size(), std::size_t(7));
  }

  void cancelMidwayKeepsTheFinishedRows() {
    auto w = windowWithARun();
    flux::ui::BaselineOptions o;
    o.random_seeds = 5;
    QSignalSpy done(w.get(), &MainWindow::baselinesCompleted);
    w->startBaselines(o);
    const BaselinesPanel* panel = w->comparison()->baselines();
    QTRY_VERIFY_WITH_TIMEOUT(panel->baselines().results.size() >= 1, kTimeoutMs);
    w->stopRun();
    QVERIFY(done.wait(kTimeoutMs));
    QCOMPARE(done.first().at(0).toBool(), true);
    const BaselineRun& b = panel->baselines();
    QVERIFY(b.cancelled);
    QVERIFY(!b.results.empty());
    QVERIFY(int(b.results.size()) < b.total);
    QCOMPARE(panel->table()->rowCount(), int(flux::ui::baselineRows(b).size()));
    QVERIFY(panel->status()->text().contains(QStringLiteral("cancelled after")));
    QVERIFY(panel->button()->isEnabled());
    // The app is usable: a normal run works.
    flux::test::checkANormalRunWorks(*w, kTimeoutMs);
  }
};

int runComparisonBaselinesTest(int argc, char** argv) {
  ComparisonBaselinesTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "comparison_baselines_test.moc"
