// The app with the router shipped for the demo model (a random router in an injected resources dir): the model
// summary names it, the presets offer "router" and start on it, Auto layers show "router decides" before a run,
// and after a run the layer map's router-probability column holds exactly the report's router_prob per layer and
// the prefill chart stacks each layer's router time on its attention time.
// Without a router: "router: none" and no "router" preset.
#include <QFileInfo>
#include <QLabel>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

#include <cmath>
#include <set>

#include "engine/core/error.h"
#include "engine/model/model_files.h"
#include "engine/routing/router_file.h"
#include "tests/engine/routing/router_test_util.h"
#include "tests/ui/loaded_window.h"
#include "tests/ui/ui_tests.h"
#include "ui/layer_map_widget.h"
#include "ui/layer_table_model.h"
#include "ui/main_window.h"
#include "ui/run_controls.h"
#include "ui/timing_charts.h"

using flux::engine::RunReport;
using flux::ui::LayerTableModel;

namespace {

constexpr int kTimeoutMs = 180'000;
const QString kModel = flux::test::kDemoModel;

}  // namespace

class RouterUiTest : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir with_router_, without_router_;
  std::filesystem::path router_file_;

  // A fresh window on the demo model whose shipped routers live in `dir`.
  std::unique_ptr<flux::ui::MainWindow> open(const QString& dir) {
    auto w = std::make_unique<flux::ui::MainWindow>();
    w->setErrorDialogs(false);
    w->setRouterDirs({std::filesystem::path(dir.toStdString())});
    w->show();
    QSignalSpy ready(w.get(), &flux::ui::MainWindow::modelReady);
    w->openModel(kModel);
    [&] { QVERIFY(ready.wait(kTimeoutMs)); }();
    return w;
  }

  static QVariant cell(const LayerTableModel* m, int row, int col, int role) {
    return m->data(m->index(row, col), role);
  }

 private slots:
  void initTestCase() {
    if (!QFileInfo::exists(kModel)) QFAIL(qPrintable(QStringLiteral("missing %1").arg(kModel)));
    QVERIFY(with_router_.isValid() && without_router_.isValid());
    const auto cfg = flux::engine::ModelFiles::open(kModel.toStdString()).config();
    router_file_ =
        std::filesystem::path(with_router_.path().toStdString()) / "SmolLM2-135M-Instruct.router.safetensors";
    flux::engine::save_router(flux::test::make_router(cfg.n_layers, cfg.n_kv_heads, cfg.head_dim), router_file_);
  }

  void routerPresetAndSummaryWithARouter() {
    auto w = open(with_router_.path());
    QVERIFY(w->router().present());
    QVERIFY2(w->modelLabel()->text().contains(QStringLiteral("router: SmolLM2-135M-Instruct.router.safetensors")),
             qPrintable(w->modelLabel()->text()));
    QCOMPARE(w->layerMap()->presets().value(0), QStringLiteral("router"));
    QCOMPARE(w->layerModel()->preset(), QStringLiteral("router"));
    QVERIFY2(w->layerMap()->planSummary().startsWith(QStringLiteral("Next run: router decides 30")),
             qPrintable(w->layerMap()->planSummary()));
    const LayerTableModel* m = w->layerModel();
    QCOMPARE(m->rowCount(), 30);
    for (int l = 0; l < m->rowCount(); ++l) {
      QCOMPARE(cell(m, l, LayerTableModel::ColRouterProb, Qt::DisplayRole).toString(),
               QStringLiteral("router decides"));
      QCOMPARE(cell(m, l, LayerTableModel::ColMode, LayerTableModel::RawRole).toString(), QStringLiteral("auto"));
    }
    // A forced layer is no longer the router's.
    w->layerModel()->setOverride({3}, flux::engine::LayerMode::SA);
    QCOMPARE(cell(m, 3, LayerTableModel::ColMode, LayerTableModel::RawRole).toString(), QStringLiteral("SA"));
    w->layerModel()->clearOverrides();

    w->setPrompt(QStringLiteral("Summarize: the cat sat on the mat while the dog slept by the door."));
    w->runControls()->maxTokens()->setValue(2);
    QSignalSpy done(w.get(), &flux::ui::MainWindow::runCompleted);
    w->startRun();
    QVERIFY(done.wait(kTimeoutMs));
    const RunReport report = done.takeFirst().at(0).value<RunReport>();
    QCOMPARE(report.status, std::string("ok"));
    QCOMPARE(report.router, router_file_.string());
    QCOMPARE(int(report.layers.size()), m->rowCount());
    std::set<float> distinct;
    for (const auto& l : report.layers) {
      QVERIFY2(l.router_score.has_value(), qPrintable(QStringLiteral("layer %1 has no router score").arg(l.index)));
      const double fa_prob = l.router_score->fa_prob();
      distinct.insert(float(fa_prob));
      const QVariant raw = cell(m, l.index, LayerTableModel::ColRouterProb, LayerTableModel::RawRole);
      QVERIFY(raw.isValid());
      QCOMPARE(raw.toDouble(), fa_prob);
      QCOMPARE(cell(m, l.index, LayerTableModel::ColRouterProb, Qt::DisplayRole).toString(),
               QString::number(fa_prob, 'f', 2));
      QCOMPARE(cell(m, l.index, LayerTableModel::ColMode, LayerTableModel::RawRole).toString(),
               QString::fromLatin1(flux::engine::layer_mode_name(l.mode)));
      QCOMPARE(cell(m, l.index, LayerTableModel::ColSource, Qt::DisplayRole).toString(), QStringLiteral("router"));
    }
    QVERIFY2(distinct.size() > 1, "a random router gives different probabilities per layer");
    const QList<double> router_ms = w->charts()->routerValues();
    double router_total = 0.0;
    for (const auto& l : report.layers) {
      QCOMPARE(router_ms[l.index], l.router_ms);
      const QList<double> attention = w->charts()->prefillValues(l.mode);
      QVERIFY(std::abs(attention[l.index] + router_ms[l.index] - l.prefill_ms) < 1e-9);
      router_total += l.router_ms;
    }
    QVERIFY2(router_total > 0.0, "the router ran on every layer, so its time shows");
  }

  void noRouterPresetWithoutARouter() {
    auto w = open(without_router_.path());
    QVERIFY(!w->router().present());
    QVERIFY2(w->modelLabel()->text().contains(QStringLiteral("router: none")), qPrintable(w->modelLabel()->text()));
    QVERIFY(!w->layerMap()->presets().contains(QStringLiteral("router")));
    QVERIFY(w->layerModel()->preset() != QStringLiteral("router"));
    bool threw = false;
    try {
      w->setRoute(QStringLiteral("router"), QString());
    } catch (const flux::engine::Error&) {
      threw = true;
    }
    QVERIFY2(threw, "the router preset must be refused when the model has no router");
  }
};

int runRouterUiTest(int argc, char** argv) {
  RouterUiTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "router_ui_test.moc"
