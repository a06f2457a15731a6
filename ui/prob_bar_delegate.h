// Paints the router probability column of the layer map as a horizontal bar with its value ("—" when null).
#pragma once

#include <QStyledItemDelegate>

namespace flux::ui {

class ProbBarDelegate : public QStyledItemDelegate {
  Q_OBJECT
 public:
  using QStyledItemDelegate::QStyledItemDelegate;
  void paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
};

}  // namespace flux::ui
