#include "ui/text_diff.h"

#include <QRegularExpression>

#include <vector>

namespace flux::ui {
namespace {

// Words and runs of whitespace, in order, so that joining them gives the text back.
QStringList splitWords(const QString& s) {
  QStringList out;
  static const QRegularExpression re(QStringLiteral("\\s+|[^\\s]+"));
  for (auto it = re.globalMatch(s); it.hasNext();) out << it.next().captured();
  return out;
}

void push(QList<DiffPiece>& out, DiffPiece::Kind kind, const QString& text) {
  if (text.isEmpty()) return;
  if (!out.isEmpty() && out.back().kind == kind)
    out.back().text += text;
  else
    out.append({kind, text});
}

}  // namespace

QList<DiffPiece> diffWords(const QString& a, const QString& b) {
  const QStringList wa = splitWords(a), wb = splitWords(b);
  // Common prefix and suffix first: keeps the table small when outputs share most of their text.
  qsizetype head = 0;
  while (head < wa.size() && head < wb.size() && wa[head] == wb[head]) ++head;
  qsizetype tail = 0;
  while (tail < wa.size() - head && tail < wb.size() - head && wa[wa.size() - 1 - tail] == wb[wb.size() - 1 - tail])
    ++tail;
  const qsizetype n = wa.size() - head - tail, m = wb.size() - head - tail;
  QList<DiffPiece> out;
  for (qsizetype i = 0; i < head; ++i) push(out, DiffPiece::Same, wa[i]);
  if (n * m > 16'000'000) {  // too big for the table: show the middle as replaced
    for (qsizetype i = 0; i < n; ++i) push(out, DiffPiece::Removed, wa[head + i]);
    for (qsizetype j = 0; j < m; ++j) push(out, DiffPiece::Added, wb[head + j]);
  } else {
    // lcs[i][j]: LCS length of the middles' suffixes from i and j.
    std::vector<int> lcs(std::size_t((n + 1) * (m + 1)), 0);
    auto at = [&](qsizetype i, qsizetype j) -> int& { return lcs[std::size_t(i * (m + 1) + j)]; };
    for (qsizetype i = n - 1; i >= 0; --i)
      for (qsizetype j = m - 1; j >= 0; --j)
        at(i, j) = wa[head + i] == wb[head + j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    qsizetype i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && wa[head + i] == wb[head + j]) {
        push(out, DiffPiece::Same, wa[head + i]);
        ++i, ++j;
      } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
        push(out, DiffPiece::Removed, wa[head + i++]);  // removals first, as diff tools show them
      } else {
        push(out, DiffPiece::Added, wb[head + j++]);
      }
    }
  }
  for (qsizetype i = wa.size() - tail; i < wa.size(); ++i) push(out, DiffPiece::Same, wa[i]);
  return out;
}

QString diffHtml(const QList<DiffPiece>& pieces) {
  QString html = QStringLiteral("<div style=\"white-space:pre-wrap\">");
  for (const DiffPiece& p : pieces) {
    const QString text = p.text.toHtmlEscaped();
    switch (p.kind) {
      case DiffPiece::Same:
        html += text;
        break;
      case DiffPiece::Removed:
        html += QStringLiteral("<s style=\"background:#f6c6c6;color:#7a0000\" title=\"only in A\">%1</s>").arg(text);
        break;
      case DiffPiece::Added:
        html += QStringLiteral("<u style=\"background:#c8efcf;color:#004d14\" title=\"only in B\">%1</u>").arg(text);
        break;
    }
  }
  return html + QStringLiteral("</div>");
}

int changedChars(const QList<DiffPiece>& pieces) {
  int n = 0;
  for (const DiffPiece& p : pieces)
    if (p.kind != DiffPiece::Same) n += int(p.text.size());
  return n;
}

}  // namespace flux::ui
