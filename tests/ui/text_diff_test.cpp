// diffWords: a word-level LCS diff whose pieces rebuild both texts; diffHtml marks removals and additions with
// <s> and <u> (not colour alone).
#include <QTest>

#include "tests/ui/ui_tests.h"
#include "ui/text_diff.h"

using flux::ui::DiffPiece;
using flux::ui::diffWords;

namespace {

QString rebuild(const QList<DiffPiece>& pieces, DiffPiece::Kind skip) {
  QString out;
  for (const DiffPiece& p : pieces)
    if (p.kind != skip) out += p.text;
  return out;
}

}  // namespace

class TextDiffTest : public QObject {
  Q_OBJECT
 private slots:
  void oneWordReplaced() {
    const auto d = diffWords(QStringLiteral("the red fox jumps"), QStringLiteral("the blue fox jumps"));
    const QList<DiffPiece> expected = {{DiffPiece::Same, QStringLiteral("the ")},
                                       {DiffPiece::Removed, QStringLiteral("red")},
                                       {DiffPiece::Added, QStringLiteral("blue")},
                                       {DiffPiece::Same, QStringLiteral(" fox jumps")}};
    QCOMPARE(d, expected);
    QCOMPARE(flux::ui::changedChars(d), 7);
  }

  void identicalAndEmpty() {
    const auto same = diffWords(QStringLiteral("a b c"), QStringLiteral("a b c"));
    QCOMPARE(same.size(), 1);
    QCOMPARE(same[0].kind, DiffPiece::Same);
    QCOMPARE(flux::ui::changedChars(same), 0);
    const auto added = diffWords(QString(), QStringLiteral("new text"));
    QCOMPARE(added.size(), 1);
    QCOMPARE(added[0].kind, DiffPiece::Added);
    QVERIFY(diffWords(QString(), QString()).isEmpty());
  }

  void piecesRebuildBothTexts() {
    const QString a = QStringLiteral("Paris is the capital of France.\nIt lies on the Seine, in the north.");
    const QString b = QStringLiteral("Paris is the capital and largest city of France.\nIt lies on the Seine.");
    const auto d = diffWords(a, b);
    QCOMPARE(rebuild(d, DiffPiece::Added), a);
    QCOMPARE(rebuild(d, DiffPiece::Removed), b);
    // The common words stay common: only the inserted and the dropped words differ.
    QCOMPARE(rebuild(d, DiffPiece::Removed).size() - rebuild(d, DiffPiece::Added).size(), b.size() - a.size());
    int same = 0;
    for (const auto& p : d) same += p.kind == DiffPiece::Same ? int(p.text.size()) : 0;
    QVERIFY2(same >= 45, qPrintable(QString::number(same)));
  }

  void htmlMarksChanges() {
    const QString html = flux::ui::diffHtml(diffWords(QStringLiteral("x <y>"), QStringLiteral("x z")));
    QVERIFY(html.contains(QStringLiteral("<s ")));
    QVERIFY(html.contains(QStringLiteral("&lt;y&gt;")));
    QVERIFY(html.contains(QStringLiteral("<u ")));
  }
};

int runTextDiffTest(int argc, char** argv) {
  TextDiffTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "text_diff_test.moc"
