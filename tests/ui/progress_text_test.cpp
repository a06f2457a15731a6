// Prefill progress text for the status bar: the ETA extrapolates the mean time per finished layer; durations read
// as ms, s or min.
#include <QTest>

#include "tests/ui/ui_tests.h"
#include "ui/progress_text.h"

using flux::ui::durationText;
using flux::ui::prefillEtaMs;
using flux::ui::prefillProgressText;

class ProgressTextTest : public QObject {
  Q_OBJECT
 private slots:
  void etaExtrapolatesTimePerLayer() {
    QCOMPARE(prefillEtaMs(10, 30, 1000.0), 2000.0);  // 100 ms per layer, 20 left
    QCOMPARE(prefillEtaMs(30, 30, 4500.0), 0.0);
    QCOMPARE(prefillEtaMs(1, 4, 250.0), 750.0);
    QVERIFY(prefillEtaMs(0, 30, 100.0) < 0.0);  // nothing finished: unknown
    QVERIFY(prefillEtaMs(3, 0, 100.0) < 0.0);
  }

  void durations() {
    QCOMPARE(durationText(850.4), QStringLiteral("850 ms"));
    QCOMPARE(durationText(12'340.0), QStringLiteral("12.3 s"));
    QCOMPARE(durationText(125'000.0), QStringLiteral("2 min 05 s"));
  }

  void statusText() {
    QCOMPARE(prefillProgressText(10, 30, 1000.0), QStringLiteral("Prefill 10/30 layers · 1.0 s elapsed · ETA 2.0 s"));
    QVERIFY(!prefillProgressText(0, 30, 10.0).contains(QStringLiteral("ETA")));
  }
};

int runProgressTextTest(int argc, char** argv) {
  ProgressTextTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "progress_text_test.moc"
