// makeHaystackPrompt: deterministic, the needle sits at the requested depth and the question names its city; the
// Tools → Needle in a Haystack dialog builds the prompt for the length and depth it is set to.
#include <QTest>

#include <cmath>

#include "tests/ui/ui_tests.h"
#include "ui/haystack_dialog.h"
#include "ui/haystack_prompt.h"

class HaystackPromptTest : public QObject {
  Q_OBJECT
 private slots:
  void needleAtDepth() {
    const auto p = flux::ui::makeHaystackPrompt(2000, 0.5, 3);
    QVERIFY(p.text.contains(p.needle));
    QVERIFY(p.needle.contains(p.answer));
    QCOMPARE(p.text.indexOf(p.needle), p.needle_offset);
    const double at = double(p.needle_offset) / double(p.text.size());
    QVERIFY2(at > 0.4 && at < 0.6, qPrintable(QString::number(at)));
    QVERIFY(p.text.count(QLatin1Char(' ')) >= 2000);
    QCOMPARE(flux::ui::makeHaystackPrompt(2000, 0.5, 3).text, p.text);
    QVERIFY(flux::ui::makeHaystackPrompt(300, 0.0, 3).needle_offset < 60);
    const auto end = flux::ui::makeHaystackPrompt(300, 1.0, 3);
    QVERIFY(end.text.indexOf(QStringLiteral("Question:")) - (end.needle_offset + end.needle.size()) < 3);
  }

  void dialogUsesLengthAndDepth() {
    flux::ui::HaystackDialog d;
    for (const int depth : {10, 75}) {
      d.setWords(4000);
      d.setDepthPercent(depth);
      d.setSeed(5);
      const auto p = d.prompt();
      QCOMPARE(p.text, flux::ui::makeHaystackPrompt(4000, depth / 100.0, 5).text);
      const double at = double(p.needle_offset) / double(p.text.size());
      QVERIFY2(std::abs(at - depth / 100.0) < 0.05, qPrintable(QString::number(at)));
      QVERIFY(p.text.count(QLatin1Char(' ')) >= 4000);
    }
  }
};

int runHaystackPromptTest(int argc, char** argv) {
  HaystackPromptTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "haystack_prompt_test.moc"
