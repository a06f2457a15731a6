// Paints the router probability column of the layer map as a horizontal bar with its value ("—" when null); grey
// when the router's score did not decide the layer (an override forced it).
#pragma once

#include <QColor>
#include <QStyledItemDelegate>

namespace flux::ui {

class ProbBarDelegate : public QStyledItemDelegate {
  Q_OBJECT
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
  // The bar colour of an advisory (not applied) router score.
  static QColor advisoryColor() { return QColor(0xa0, 0xa0, 0xa0); }
};

}  // namespace flux::ui
