// Word-level diff of two texts (longest common subsequence over words and the whitespace between them), for the
// comparison of two runs' outputs. Pure functions, tested on their own.
#pragma once

#include <QList>
#include <QString>

namespace flux::ui {

struct DiffPiece {
  enum Kind { Same, Removed, Added };
  Kind kind = Same;
  QString text;
  bool operator==(const DiffPiece& o) const { return kind == o.kind && text == o.text; }
};

// Pieces that rebuild `a` from the Same + Removed ones and `b` from the Same + Added ones; adjacent pieces of one
// kind are merged.
QList<DiffPiece> diffWords(const QString& a, const QString& b);
// The diff as HTML: removed text struck through on red, added text underlined on green (never colour alone).
QString diffHtml(const QList<DiffPiece>& pieces);
// Characters removed + added.
int changedChars(const QList<DiffPiece>& pieces);

}  // namespace flux::ui
