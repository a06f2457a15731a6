#include "ui/elided_label.h"

#include <QFontMetrics>
#include <QResizeEvent>

namespace flux::ui {

ElidedLabel::ElidedLabel(QWidget* parent) : QLabel(parent) {
  setWordWrap(false);
  setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Fixed);
}

void ElidedLabel::setFullText(const QString& text) {
  full_ = text;
  refresh();
}

void ElidedLabel::setHint(const QString& hint) {
  hint_ = hint;
  refresh();
}

void ElidedLabel::resizeEvent(QResizeEvent* event) {
  QLabel::resizeEvent(event);
  refresh();
}

QSize ElidedLabel::minimumSizeHint() const {
  return {0, QLabel::minimumSizeHint().height()};
}

void ElidedLabel::refresh() {
  setText(fontMetrics().elidedText(full_, Qt::ElideRight, std::max(0, contentsRect().width())));
  setToolTip(hint_.isEmpty() ? full_ : full_ + QStringLiteral("\n\n") + hint_);
}

}  // namespace flux::ui
