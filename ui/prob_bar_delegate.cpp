#include "ui/prob_bar_delegate.h"

#include <QApplication>
#include <QPainter>
#include <QStyle>

#include <algorithm>

#include "ui/layer_table_model.h"

namespace flux::ui {

void ProbBarDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) const {
  const QVariant raw = index.data(LayerTableModel::RawRole);
  if (!raw.isValid()) {
    QStyledItemDelegate::paint(painter, option, index);  // shows "—"
    return;
  }
  const double p = std::clamp(raw.toDouble(), 0.0, 1.0);
  QStyleOptionViewItem opt = option;
  initStyleOption(&opt, index);
  opt.text.clear();
  QStyle* style = option.widget ? option.widget->style() : QApplication::style();
  style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, option.widget);
  painter->save();
  const QRect bar = option.rect.adjusted(3, 4, -3, -4);
  painter->setPen(Qt::NoPen);
  painter->setBrush(option.palette.midlight());
  painter->drawRect(bar);
  // The bar takes the colour of what the layer did (the router's threshold may not be 0.5); on a forced layer the
  // router's score is only its opinion: grey bar, disabled text.
  const bool advisory = index.data(LayerTableModel::AdvisoryRole).toBool();
  const QString mode = index.siblingAtColumn(LayerTableModel::ColMode).data(LayerTableModel::RawRole).toString();
  painter->setBrush(advisory                       ? advisoryColor()
                    : mode == QStringLiteral("SA") ? modeColor(engine::LayerMode::SA)
                    : mode == QStringLiteral("FA") ? modeColor(engine::LayerMode::FA)
                                                   : option.palette.mid());
  painter->drawRect(QRect(bar.topLeft(), QSize(int(bar.width() * p), bar.height())));
  painter->setPen(option.palette.color(advisory ? QPalette::Disabled : QPalette::Normal, QPalette::Text));
  painter->drawText(option.rect, Qt::AlignCenter, QString::number(p, 'f', 2));
  painter->restore();
}

}  // namespace flux::ui
