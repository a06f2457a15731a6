// LayerTableModel without an engine: presets, overrides (plan sources and override text), live results, display.
#include <QTest>

#include "tests/ui/ui_tests.h"
#include "ui/layer_table_model.h"

using flux::engine::DecisionSource;
using flux::engine::LayerMode;
using flux::ui::LayerTableModel;

class LayerTableModelTest : public QObject {
  Q_OBJECT
 private slots:
  void presetsAndOverrides() {
    LayerTableModel m;
    m.setLayerCount(8);
    QCOMPARE(m.rowCount(), 8);
    m.setPreset(QStringLiteral("first-k:2"));
    auto plan = m.plan();
    QCOMPARE(int(plan.layers.size()), 8);
    QCOMPARE(plan.layers[1].mode, LayerMode::FA);
    QCOMPARE(plan.layers[2].mode, LayerMode::SA);
    QCOMPARE(plan.layers[2].source, DecisionSource::Default);
    m.setOverride({5}, LayerMode::FA);
    m.setOverride({6, 7}, LayerMode::SA);
    plan = m.plan();
    QCOMPARE(plan.layers[5].mode, LayerMode::FA);
    QCOMPARE(plan.layers[5].source, DecisionSource::Override);
    QCOMPARE(plan.layers[6].source, DecisionSource::Override);
    QCOMPARE(plan.layers[4].source, DecisionSource::Default);
    QCOMPARE(m.overridesText(), QStringLiteral("5=FA,6-7=SA"));
    QCOMPARE(m.data(m.index(5, LayerTableModel::ColMode)).toString(), QStringLiteral("FA"));
    QCOMPARE(m.data(m.index(5, LayerTableModel::ColSource)).toString(), QStringLiteral("override"));
    QCOMPARE(m.data(m.index(4, LayerTableModel::ColSaKind)).toString(), QStringLiteral("streaming"));
    QCOMPARE(m.data(m.index(4, LayerTableModel::ColRouterProb)).toString(), QStringLiteral("—"));
    QVERIFY(!m.data(m.index(4, LayerTableModel::ColRouterProb), LayerTableModel::RawRole).isValid());
    QVERIFY(m.data(m.index(4, LayerTableModel::ColMode), Qt::BackgroundRole).isValid());
    m.setOverride({5, 6}, std::nullopt);
    QCOMPARE(m.overridesText(), QStringLiteral("7=SA"));
    m.clearOverrides();
    QCOMPARE(m.overridesText(), QString());
  }

  void resultsFillRows() {
    LayerTableModel m;
    m.setLayerCount(4);
    m.beginRun();
    flux::engine::LayerReport l;
    l.index = 2;
    l.mode = LayerMode::SA;
    l.attention = "triangle";
    l.router_score = flux::engine::RouterScore{LayerMode::FA, 0.75};
    l.prefill_ms = 1.5;
    l.kv_bytes = 2048;
    m.setLayerResult(l);
    QVERIFY(m.hasResult(2));
    QVERIFY(!m.hasResult(1));
    QCOMPARE(m.data(m.index(2, LayerTableModel::ColMode)).toString(), QStringLiteral("SA"));
    QCOMPARE(m.data(m.index(2, LayerTableModel::ColSaKind)).toString(), QStringLiteral("triangle"));
    QCOMPARE(m.data(m.index(2, LayerTableModel::ColRouterProb), LayerTableModel::RawRole).toDouble(), 0.75);
    QCOMPARE(m.data(m.index(2, LayerTableModel::ColPrefillMs)).toString(), QStringLiteral("1.50"));
    QCOMPARE(m.data(m.index(2, LayerTableModel::ColKv)).toString(), QStringLiteral("2.0"));
    QCOMPARE(m.data(m.index(1, LayerTableModel::ColPrefillMs)).toString(), QString());
    m.setPreset(QStringLiteral("sa"));  // editing the plan shows the next run's plan again
    QVERIFY(!m.hasResult(2));
  }
};

int runLayerTableModelTest(int argc, char** argv) {
  LayerTableModelTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "layer_table_model_test.moc"
