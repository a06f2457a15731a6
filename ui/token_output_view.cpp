#include "ui/token_output_view.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QTextBlock>
#include <QToolTip>

#include <algorithm>

namespace flux::ui {

TokenOutputView::TokenOutputView(QWidget* parent) : QPlainTextEdit(parent) {
  setReadOnly(true);
  setMouseTracking(true);
  viewport()->setMouseTracking(true);
  setPlaceholderText(tr("Generated text appears here"));
  setToolTip(tr("The generated text, streamed as it decodes; hover a word to see its token boundaries"));
}

void TokenOutputView::clearTokens() {
  spans_.clear();
  utf8_.resetState();
  length_ = 0;
  hovered_ = -1;
  setExtraSelections({});
  clear();
}

void TokenOutputView::appendToken(const engine::TokenReport& token) {
  // Byte-level BPE pieces can split a UTF-8 character: the stateful decoder holds the partial bytes back.
  const QString piece = utf8_.decode(QByteArrayView(token.text.data(), qsizetype(token.text.size())));
  spans_.push_back({length_, int(piece.size()), token});
  length_ += int(piece.size());
  if (piece.isEmpty()) return;
  QTextCursor cursor(document());
  cursor.movePosition(QTextCursor::End);
  cursor.insertText(piece);
}

void TokenOutputView::showRun(const engine::RunReport& report) {
  clearTokens();
  std::string joined;
  for (const auto& t : report.tokens) joined += t.text;
  if (joined != report.output_text) {  // e.g. a report from a file written by an older version
    setPlainText(QString::fromStdString(report.output_text));
    return;
  }
  QString text;
  for (const auto& t : report.tokens) {
    const QString piece = utf8_.decode(QByteArrayView(t.text.data(), qsizetype(t.text.size())));
    spans_.push_back({length_, int(piece.size()), t});
    length_ += int(piece.size());
    text += piece;
  }
  setPlainText(text);
}

int TokenOutputView::tokenAt(int offset) const {
  // spans_ are sorted by start; find the last one starting at or before offset that covers it.
  auto it =
      std::upper_bound(spans_.begin(), spans_.end(), offset, [](int off, const Span& s) { return off < s.start; });
  while (it != spans_.begin()) {
    --it;
    if (it->length > 0) return offset < it->start + it->length ? int(it - spans_.begin()) : -1;
  }
  return -1;
}

QString TokenOutputView::tokenToolTip(int i) const {
  if (i < 0 || i >= int(spans_.size())) return {};
  const Span& s = spans_[std::size_t(i)];
  QString shown = QString::fromStdString(s.token.text);
  shown.replace(QLatin1Char('\n'), QStringLiteral("\\n"));
  return tr("token %1 · id %2 · \"%3\" · %4 ms%5")
      .arg(i)
      .arg(s.token.id)
      .arg(shown.toHtmlEscaped())
      .arg(s.token.ms, 0, 'f', 2)
      .arg(i == 0 ? tr(" (time to first token, includes the prefill)") : QString());
}

void TokenOutputView::highlightToken(int i) {
  hovered_ = i;
  if (i < 0 || i >= int(spans_.size())) {
    hovered_ = -1;
    setExtraSelections({});
    return;
  }
  const Span& s = spans_[std::size_t(i)];
  QTextEdit::ExtraSelection sel;
  sel.cursor = QTextCursor(document());
  sel.cursor.setPosition(s.start);
  sel.cursor.setPosition(s.start + s.length, QTextCursor::KeepAnchor);
  sel.format.setBackground(
      palette().highlight().color().lighter(palette().window().color().lightness() < 128 ? 80 : 160));
  sel.format.setFontUnderline(true);
  setExtraSelections({sel});
}

bool TokenOutputView::viewportEvent(QEvent* event) {
  if (event->type() == QEvent::MouseMove || event->type() == QEvent::ToolTip) {
    const QPoint pos = event->type() == QEvent::ToolTip ? static_cast<QHelpEvent*>(event)->pos()
                                                        : static_cast<QMouseEvent*>(event)->position().toPoint();
    const QTextCursor cursor = cursorForPosition(pos);
    // cursorForPosition gives the nearest gap; the character under the mouse is the one after it, or before it
    // when the mouse is on the right half of the character.
    int offset = cursor.position();
    const QRect r = cursorRect(cursor);
    if (pos.x() < r.x() && offset > 0) --offset;
    const int token = tokenAt(offset);
    if (token != hovered_) highlightToken(token);
    if (event->type() == QEvent::ToolTip) {
      auto* help = static_cast<QHelpEvent*>(event);
      if (token >= 0)
        QToolTip::showText(help->globalPos(), tokenToolTip(token), viewport());
      else
        QToolTip::showText(help->globalPos(), toolTip(), viewport());
      return true;
    }
  } else if (event->type() == QEvent::Leave) {
    highlightToken(-1);
  }
  return QPlainTextEdit::viewportEvent(event);
}

}  // namespace flux::ui
