// compare_runs: per-layer deltas, plan differences and speedups on hand-made reports (no widgets, no engine).
#include <QTest>

#include "tests/ui/ui_tests.h"
#include "ui/run_comparison.h"

using flux::engine::LayerMode;
using flux::engine::LayerReport;
using flux::engine::RunReport;

namespace {

RunReport makeReport(std::vector<std::pair<LayerMode, double>> layers, double prefill, double decode, double total,
                     const std::string& text) {
  RunReport r;
  for (int i = 0; i < int(layers.size()); ++i) {
    LayerReport l;
    l.index = i;
    l.mode = layers[std::size_t(i)].first;
    l.prefill_ms = layers[std::size_t(i)].second;
    r.layers.push_back(l);
  }
  r.summary.prefill_ms = prefill;
  r.summary.decode_ms_per_token = decode;
  r.summary.total_ms = total;
  r.output_text = text;
  return r;
}

}  // namespace

class RunComparisonTest : public QObject {
  Q_OBJECT
 private slots:
  void deltasAndSpeedups() {
    const RunReport a =
        makeReport({{LayerMode::FA, 10.0}, {LayerMode::FA, 12.0}, {LayerMode::FA, 8.0}}, 30.0, 5.0, 100.0, "hello");
    const RunReport b =
        makeReport({{LayerMode::FA, 9.0}, {LayerMode::SA, 4.0}, {LayerMode::SA, 2.0}}, 15.0, 4.0, 50.0, "hello");
    const auto c = flux::ui::compare_runs(a, b);
    QCOMPARE(int(c.layers.size()), 3);
    QCOMPARE(c.layers[0].delta_ms, -1.0);
    QCOMPARE(c.layers[1].delta_ms, -8.0);
    QCOMPARE(c.layers[2].delta_ms, -6.0);
    QVERIFY(!c.layers[0].plan_differs);
    QVERIFY(c.layers[1].plan_differs);
    QVERIFY(c.layers[2].plan_differs);
    QCOMPARE(c.plan_differences, 2);
    QCOMPARE(c.prefill_speedup, 2.0);
    QCOMPARE(c.decode_speedup, 1.25);
    QCOMPARE(c.total_speedup, 2.0);
    QVERIFY(c.same_output);
  }

  void missingLayersAndZeroTimes() {
    const RunReport a = makeReport({{LayerMode::FA, 10.0}, {LayerMode::SA, 6.0}}, 16.0, 2.0, 20.0, "x");
    const RunReport b = makeReport({{LayerMode::FA, 11.0}}, 0.0, 0.0, 0.0, "y");  // e.g. cancelled after layer 0
    const auto c = flux::ui::compare_runs(a, b);
    QCOMPARE(int(c.layers.size()), 2);
    QCOMPARE(c.layers[0].delta_ms, 1.0);
    QVERIFY(!c.layers[1].mode_b.has_value());
    QCOMPARE(c.layers[1].delta_ms, -6.0);
    QVERIFY(c.layers[1].plan_differs);
    QCOMPARE(c.prefill_speedup, 0.0);
    QCOMPARE(c.total_speedup, 0.0);
    QVERIFY(!c.same_output);
  }
};

int runRunComparisonTest(int argc, char** argv) {
  RunComparisonTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "run_comparison_test.moc"
