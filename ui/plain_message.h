// Message boxes for text that comes from files or the engine (model names, metadata, error messages): shown as plain
// text, never as Qt rich text (an architecture of "<img src=...>" showed HTML and loaded a local image).
#pragma once

#include <QMessageBox>
#include <QString>
#include <QWidget>

namespace flux::ui {

inline void criticalPlain(QWidget* parent, const QString& title, const QString& text) {
  QMessageBox box(QMessageBox::Critical, title, text, QMessageBox::Ok, parent);
  box.setTextFormat(Qt::PlainText);
  box.exec();
}

// A tooltip that shows `text` as written: Qt renders a tooltip that looks like HTML as rich text, so the text is
// escaped into a paragraph that keeps its line breaks.
inline QString plainToolTip(const QString& text) {
  return QStringLiteral("<p style='white-space:pre-wrap'>%1</p>").arg(text.toHtmlEscaped());
}

}  // namespace flux::ui
