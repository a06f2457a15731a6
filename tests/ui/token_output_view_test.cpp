// TokenOutputView: streamed tokens keep their character spans, a UTF-8 character split over two tokens is shown
// whole, hovering a character highlights its token and the tooltip names id, text and time; showRun rebuilds the
// spans from a report.
#include <QTest>
#include <QTextBlock>

#include "tests/ui/ui_tests.h"
#include "ui/token_output_view.h"

using flux::engine::TokenReport;
using flux::ui::TokenOutputView;

namespace {

TokenReport tok(int id, std::string text, double ms) {
  return {id, std::move(text), ms};
}

}  // namespace

class TokenOutputViewTest : public QObject {
  Q_OBJECT
 private slots:
  void spansFollowTheText() {
    TokenOutputView v;
    v.appendToken(tok(10, "Hello", 50.0));
    v.appendToken(tok(11, " wor", 5.0));
    v.appendToken(tok(12, "ld", 6.0));
    QCOMPARE(v.toPlainText(), QStringLiteral("Hello world"));
    QCOMPARE(int(v.spans().size()), 3);
    QCOMPARE(v.tokenAt(0), 0);
    QCOMPARE(v.tokenAt(4), 0);
    QCOMPARE(v.tokenAt(5), 1);  // the space belongs to " wor"
    QCOMPARE(v.tokenAt(9), 2);
    QCOMPARE(v.tokenAt(11), -1);
    QVERIFY(v.tokenToolTip(1).contains(QStringLiteral("id 11")));
    QVERIFY(v.tokenToolTip(1).contains(QStringLiteral("\" wor\"")));
    QVERIFY(v.tokenToolTip(0).contains(QStringLiteral("first token")));
  }

  void splitUtf8CharacterIsShownWhole() {
    TokenOutputView v;
    const std::string euro = "\xE2\x82\xAC";  // €
    v.appendToken(tok(1, "5 ", 1.0));
    v.appendToken(tok(2, euro.substr(0, 2), 1.0));
    v.appendToken(tok(3, euro.substr(2), 1.0));
    QCOMPARE(v.toPlainText(), QStringLiteral("5 €"));
    QCOMPARE(v.spans()[1].length, 0);
    QCOMPARE(v.tokenAt(2), 2);  // the token that completed the character owns it
  }

  void hoverHighlightsTheToken() {
    TokenOutputView v;
    v.resize(400, 200);
    v.show();
    QVERIFY(QTest::qWaitForWindowExposed(&v));
    v.appendToken(tok(1, "alpha", 1.0));
    v.appendToken(tok(2, " beta", 1.0));
    v.appendToken(tok(3, " gamma", 1.0));
    // The middle of "beta" (characters 6..10).
    QTextCursor c(v.document());
    c.setPosition(8);
    const QPoint at = v.cursorRect(c).center() + QPoint(1, 0);
    QTest::mouseMove(v.viewport(), at);
    QTRY_COMPARE(v.hoveredToken(), 1);
    const auto sel = v.extraSelections();
    QCOMPARE(sel.size(), 1);
    QCOMPARE(sel[0].cursor.selectionStart(), 5);
    QCOMPARE(sel[0].cursor.selectionEnd(), 10);
  }

  void showRunRebuildsSpans() {
    flux::engine::RunReport r;
    r.tokens = {tok(7, "One", 90.0), tok(8, " two", 9.0)};
    r.output_text = "One two";
    TokenOutputView v;
    v.appendToken(tok(1, "old", 1.0));
    v.showRun(r);
    QCOMPARE(v.toPlainText(), QStringLiteral("One two"));
    QCOMPARE(int(v.spans().size()), 2);
    QCOMPARE(v.spans()[1].start, 3);
    QCOMPARE(v.spans()[1].token.id, 8);
    r.output_text = "something else";  // tokens do not add up: the text alone
    v.showRun(r);
    QCOMPARE(v.toPlainText(), QStringLiteral("something else"));
    QVERIFY(v.spans().empty());
  }
};

int runTokenOutputViewTest(int argc, char** argv) {
  TokenOutputViewTest t;
  return QTest::qExec(&t, argc, argv);
}

#include "token_output_view_test.moc"
