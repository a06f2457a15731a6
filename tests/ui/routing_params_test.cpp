// Every routing parameter in the GUI (issue 15 point 5): the SA kind with sink / window / n_last / block / stride /
// tau, the decode mode and (for checkpoints with one) the FA-side kind build the engine's RouteSpec and reach the
// run report through a real run (report.settings.route, report.sparse, report.dense); invalid combinations are
// refused with the engine's reason and never reach a run; the values persist; Save / Load Route round-trips the
// engine's route grammar (text via parse_route_spec, JSON via load_route_file).
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileInfo>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QTest>

#include "engine/routing/route_spec.h"
#include "tests/ui/loaded_window.h"
#include "tests/ui/ui_tests.h"
#include "ui/elided_label.h"
#include "ui/layer_map_widget.h"
#include "ui/layer_table_model.h"
#include "ui/main_window.h"
#include "ui/run_controls.h"

using flux::engine::AttentionMode;
using flux::engine::DecodeMode;
using flux::engine::RunReport;
using flux::ui::MainWindow;

namespace {

constexpr int kTimeoutMs = 180'000;

}  // namespace

class RoutingParamsTest : public QObject {
  Q_OBJECT

 private:
  std::unique_ptr<MainWindow> w_;
  QTemporaryDir dir_;

  RunReport runOnce() { return flux::test::runOnce(*w_, kTimeoutMs); }

 private slots:
  void initTestCase() {
    w_ = flux::test::loadedDemoWindow(kTimeoutMs, true);
    w_->setPrompt(QStringLiteral("Name three colours of the rainbow."));
    w_->runControls()->maxTokens()->setValue(2);
  }

  void triangleParametersReachTheReport() {
    flux::ui::LayerMapWidget* map = w_->layerMap();
    map->setPreset(QStringLiteral("sa"));
    QVERIFY(map->setSparseKind(QStringLiteral("triangle")));
    map->nLast()->setValue(32);
    map->block()->setValue(64);
    map->stride()->setValue(8);
    map->decodeMode()->setCurrentIndex(map->decodeMode()->findData(QStringLiteral("reference")));
    const flux::engine::RouteSpec spec = map->routeSpec();
    QCOMPARE(*spec.n_last, 32);
    const RunReport r = runOnce();
    QCOMPARE(QString::fromStdString(r.status), QStringLiteral("ok"));
    // The report's route is the engine's describe() of the GUI's spec, and the resolved plan has the values.
    QCOMPARE(r.settings.route, flux::engine::describe(spec));
    const flux::engine::RouteSpec back = flux::engine::parse_route_spec(r.settings.route);
    QCOMPARE(back, spec);
    QCOMPARE(r.sparse.mode, AttentionMode::Triangle);
    QCOMPARE(r.sparse.n_last, 32);
    QCOMPARE(r.sparse.block, 64);
    QCOMPARE(r.sparse.stride, 8);
    QCOMPARE(r.sparse.decode, DecodeMode::Reference);
    QCOMPARE(QString::fromStdString(r.layers[3].attention), QStringLiteral("triangle"));
  }

  void xattentionParametersReachTheReport() {
    flux::ui::LayerMapWidget* map = w_->layerMap();
    QVERIFY(map->setSparseKind(QStringLiteral("xattn")));
    QVERIFY(map->tau()->isEnabled());
    QVERIFY(!map->nLast()->isEnabled());
    map->tau()->setValue(0.8);
    map->stride()->setValue(16);
    map->block()->setValue(64);
    map->decodeMode()->setCurrentIndex(map->decodeMode()->findData(QStringLiteral("fluxscope")));
    const RunReport r = runOnce();
    QCOMPARE(r.sparse.mode, AttentionMode::XAttention);
    QCOMPARE(r.sparse.threshold, 0.8f);
    QCOMPARE(r.sparse.stride, 16);
    QCOMPARE(r.sparse.block, 64);
    QCOMPARE(r.sparse.decode, DecodeMode::FluxScope);
    QCOMPARE(r.dense.mode, AttentionMode::Full);  // the demo model has no XAttention FA side
    QVERIFY2(r.settings.route.find("tau=0.8") != std::string::npos, r.settings.route.c_str());
    QCOMPARE(QString::fromStdString(r.layers[0].attention), QStringLiteral("xattn"));
  }

  void faKindIsOfferedForCheckpointsWithOne() {
    flux::ui::LayerMapWidget* map = w_->layerMap();
    QVERIFY(!map->faKind()->isEnabled());  // the demo model: FA is full attention only
    QVERIFY(!map->routeSpec().fa_kind.has_value());
    flux::engine::AttentionPlan xattn_fa;
    xattn_fa.mode = AttentionMode::XAttention;
    map->setDense(xattn_fa);  // what onModelLoaded does for a Flux xattn checkpoint
    QVERIFY(map->faKind()->isEnabled());
    QCOMPARE(*map->routeSpec().fa_kind, AttentionMode::XAttention);
    map->setPreset(QStringLiteral("fa"));
    const RunReport r = runOnce();
    QCOMPARE(r.dense.mode, AttentionMode::XAttention);
    QCOMPARE(QString::fromStdString(r.layers[0].attention), QStringLiteral("xattn"));
    map->faKind()->setCurrentIndex(0);
    QCOMPARE(*map->routeSpec().fa_kind, AttentionMode::Full);
    map->setDense(flux::engine::AttentionPlan{});
    QVERIFY(!map->faKind()->isEnabled());
  }

  void invalidParametersAreRefusedWithTheReason() {
    flux::ui::LayerMapWidget* map = w_->layerMap();
    QVERIFY(map->setSparseKind(QStringLiteral("xattn")));
    const flux::engine::AttentionPlan before = w_->layerModel()->sparse();
    map->block()->setValue(60);  // not a multiple of the stride 16
    QVERIFY2(map->planSummary().contains(QStringLiteral("not applied")), qPrintable(map->planSummary()));
    QCOMPARE(w_->layerModel()->sparse().block, before.block);  // the plan keeps the last valid parameters
    map->block()->setValue(64);
    QVERIFY(!map->planSummary().contains(QStringLiteral("not applied")));
  }

  void saveAndLoadRouteRoundTrip() {
    flux::ui::LayerMapWidget* map = w_->layerMap();
    map->setPreset(QStringLiteral("first-k:3"));
    QVERIFY(map->setSparseKind(QStringLiteral("triangle")));
    map->nLast()->setValue(48);
    w_->layerModel()->setOverride({7, 8}, flux::engine::LayerMode::FA);
    const flux::engine::RouteSpec saved = map->routeSpec();
    const QString text_path = dir_.filePath(QStringLiteral("plan.txt"));
    QCOMPARE(w_->saveRouteTo(text_path), QString());
    QFile f(text_path);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QCOMPARE(QString::fromUtf8(f.readAll()).trimmed().toStdString(), flux::engine::describe(saved));
    const QString json_path = dir_.filePath(QStringLiteral("plan.json"));
    QCOMPARE(w_->saveRouteTo(json_path), QString());
    QCOMPARE(flux::engine::load_route_file(json_path.toStdString()), saved);  // the engine reads what we wrote
    // Change everything, then load each file back.
    map->setPreset(QStringLiteral("fa"));
    QVERIFY(map->setSparseKind(QStringLiteral("streaming")));
    w_->layerModel()->clearOverrides();
    QVERIFY(!(map->routeSpec() == saved));
    QCOMPARE(w_->loadRouteFrom(text_path), QString());
    QCOMPARE(map->routeSpec(), saved);
    map->setPreset(QStringLiteral("fa"));
    w_->layerModel()->clearOverrides();
    QCOMPARE(w_->loadRouteFrom(json_path), QString());
    QCOMPARE(map->routeSpec(), saved);
    QCOMPARE(w_->layerModel()->overridesText(), QStringLiteral("7-8=FA"));
    // A bad route file: a clear error and nothing changes.
    const QString bad = dir_.filePath(QStringLiteral("bad.txt"));
    QFile b(bad);
    QVERIFY(b.open(QIODevice::WriteOnly));
    b.write("sa override=0-99=FA\n");  // past the 30 layers
    b.close();
    const QString error = w_->loadRouteFrom(bad);
    QVERIFY2(error.contains(QStringLiteral("bad.txt")), qPrintable(error));
    QCOMPARE(map->routeSpec(), saved);
    w_->layerModel()->clearOverrides();
  }

  void parametersPersist() {
    flux::ui::LayerMapWidget* map = w_->layerMap();
    QVERIFY(map->setSparseKind(QStringLiteral("xattn")));
    map->tau()->setValue(0.75);
    map->stride()->setValue(8);
    map->block()->setValue(32);
    map->nLast()->setValue(96);
    map->decodeMode()->setCurrentIndex(map->decodeMode()->findData(QStringLiteral("reference")));
    w_->close();  // saves the settings
    MainWindow again;
    flux::ui::LayerMapWidget* m2 = again.layerMap();
    QCOMPARE(m2->tau()->value(), 0.75);
    QCOMPARE(m2->stride()->value(), 8);
    QCOMPARE(m2->block()->value(), 32);
    QCOMPARE(m2->nLast()->value(), 96);
    QCOMPARE(m2->decodeMode()->currentData().toString(), QStringLiteral("reference"));
    QCOMPARE(again.layerModel()->sparse().mode, AttentionMode::XAttention);
    // Back to the defaults for the classes after this one (they share the settings home).
    m2->setSparse(flux::engine::AttentionPlan{AttentionMode::Streaming});
    m2->setPreset(QStringLiteral("fa"));
    again.close();
  }

  void cleanupTestCase() { w_.reset(); }
};

int runRoutingParamsTest(int argc, char** argv) {
  RoutingParamsTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "routing_params_test.moc"
