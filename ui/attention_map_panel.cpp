#include "ui/attention_map_panel.h"

#include <QBarSet>
#include <QBoxLayout>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QStackedBarSeries>
#include <QValueAxis>

#include <algorithm>

#include "engine/core/error.h"
#include "ui/block_mask_view.h"
#include "ui/layer_table_model.h"
#include "ui/report_export.h"
#include "ui/plain_message.h"

namespace flux::ui {

using engine::LayerMode;

AttentionMapPanel::AttentionMapPanel(QWidget* parent) : QWidget(parent) {
  picker_ = new QComboBox();
  picker_->setToolTip(tr("The layer whose attention tiles are shown; selecting a row in the layer map picks it too"));
  picker_->setSizeAdjustPolicy(QComboBox::AdjustToContents);
  auto* reset = new QPushButton(tr("Reset zoom"));
  reset->setToolTip(tr("Show the whole mask again (double-click the map does the same)"));
  export_ = new QPushButton(tr("Export…"));
  export_->setToolTip(tr("Save the heatmap as a PNG or SVG picture"));
  export_->setEnabled(false);
  hover_ = new QLabel();
  hover_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  view_ = new BlockMaskView();
  view_->setToolTip(
      tr("Query blocks down, key blocks across: a coloured tile was computed, its colour says by how many heads.\n"
         "Wheel zooms, drag pans, double-click resets"));

  fa_ = new QBarSet(tr("FA"));
  fa_->setColor(modeColor(LayerMode::FA));
  sa_ = new QBarSet(tr("SA"));
  sa_->setColor(modeColor(LayerMode::SA));
  auto* bars = new QStackedBarSeries();
  bars->append(fa_);
  bars->append(sa_);
  auto* chart = new QChart();
  chart->setTitle(tr("Attention density per layer"));
  chart->addSeries(bars);
  layer_axis_ = new QValueAxis();
  layer_axis_->setTitleText(tr("layer"));
  layer_axis_->setLabelFormat(QStringLiteral("%d"));
  layer_axis_->setTickType(QValueAxis::TicksDynamic);
  layer_axis_->setTickAnchor(0.0);
  layer_axis_->setTickInterval(5.0);
  layer_axis_->setRange(-0.5, 0.5);
  auto* y = new QValueAxis();
  y->setTitleText(tr("density"));
  y->setRange(0.0, 1.0);
  y->setLabelFormat(QStringLiteral("%.1f"));
  chart->addAxis(layer_axis_, Qt::AlignBottom);
  chart->addAxis(y, Qt::AlignLeft);
  bars->attachAxis(layer_axis_);
  bars->attachAxis(y);
  chart->legend()->setAlignment(Qt::AlignRight);
  chart->setMargins(QMargins(2, 2, 2, 2));
  chart->setBackgroundVisible(false);
  QFont title = chart->titleFont();
  title.setBold(true);
  chart->setTitleFont(title);
  chart_view_ = new QChartView(chart);
  chart_view_->setRenderHint(QPainter::Antialiasing);
  chart_view_->setToolTip(tr("Share of the causal attention tiles each layer computed during prefill (1 = dense).\n"
                             "Click a bar to show that layer's map"));
  chart_view_->setMinimumSize(240, 180);
  connect(bars, &QStackedBarSeries::clicked, this, [this](int index, QBarSet*) { selectLayer(index); });

  connect(picker_, &QComboBox::currentIndexChanged, this, [this](int i) {
    if (i >= 0) selectLayer(picker_->itemData(i).toInt());
  });
  connect(reset, &QPushButton::clicked, view_, &BlockMaskView::resetZoom);
  connect(export_, &QPushButton::clicked, this, &AttentionMapPanel::exportDialog);
  connect(view_, &BlockMaskView::tileHovered, hover_, &QLabel::setText);

  auto* top = new QHBoxLayout();
  top->addWidget(new QLabel(tr("Layer")));
  top->addWidget(picker_);
  top->addWidget(reset);
  top->addWidget(export_);
  top->addWidget(hover_, 1);
  body_ = new QBoxLayout(QBoxLayout::LeftToRight);
  body_->addWidget(view_, 3);
  body_->addWidget(chart_view_, 2);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addLayout(top);
  layout->addLayout(body_, 1);
}

void AttentionMapPanel::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  const bool wide = width() > height() * 1.2;
  body_->setDirection(wide ? QBoxLayout::LeftToRight : QBoxLayout::TopToBottom);
  // The heatmap is square: side by side, it takes what its height allows and the chart gets the rest.
  view_->setMaximumWidth(wide ? std::max(view_->minimumWidth(), height() + 80) : QWIDGETSIZE_MAX);
}

void AttentionMapPanel::beginRun() {
  report_.reset();
  layer_ = -1;
  {
    const QSignalBlocker block(picker_);
    picker_->clear();
  }
  fa_->remove(0, fa_->count());
  sa_->remove(0, sa_->count());
  export_->setEnabled(false);
  view_->setMessage(tr("Running… the map appears when the run is done"));
}

void AttentionMapPanel::showReport(const engine::RunReport& report) {
  const int keep = layer_;
  beginRun();
  report_ = std::make_shared<const engine::RunReport>(report);
  int n_layers = 0;
  {
    const QSignalBlocker block(picker_);
    for (const auto& l : report.layers) {
      picker_->addItem(tr("%1 · %2 %3 · density %4")
                           .arg(l.index)
                           .arg(QString::fromLatin1(engine::layer_mode_name(l.mode)), QString::fromStdString(l.attention))
                           .arg(l.density, 0, 'f', 3),
                       l.index);
      n_layers = std::max(n_layers, l.index + 1);
    }
  }
  for (int i = 0; i < n_layers; ++i) {
    fa_->append(0.0);
    sa_->append(0.0);
  }
  for (const auto& l : report.layers) {
    fa_->replace(l.index, l.mode == LayerMode::FA ? l.density : 0.0);
    sa_->replace(l.index, l.mode == LayerMode::SA ? l.density : 0.0);
  }
  layer_axis_->setRange(-0.5, std::max(1, n_layers) - 0.5);
  if (report.layers.empty()) {
    view_->setMessage(tr("This run prefilled no layer: there is no attention map"));
    return;
  }
  selectLayer(keep >= 0 && keep < n_layers ? keep : report.layers.front().index);
}

void AttentionMapPanel::selectLayer(int layer) {
  if (!report_) return;
  const int item = picker_->findData(layer);
  if (item < 0) return;
  layer_ = layer;
  {
    const QSignalBlocker block(picker_);
    picker_->setCurrentIndex(item);
  }
  const engine::LayerReport* lr = nullptr;
  for (const auto& l : report_->layers)
    if (l.index == layer) lr = &l;
  try {
    auto mask = reportLayerMask(*report_, layer, model_heads_);  // the report's own recorded mask: no copy
    view_->setMask(std::move(mask), report_->prompt_tokens,
                   tr("Layer %1 · %2 %3 · %4 prompt tokens · density %5")
                       .arg(layer)
                       .arg(QString::fromLatin1(engine::layer_mode_name(lr->mode)), QString::fromStdString(lr->attention))
                       .arg(report_->prompt_tokens)
                       .arg(lr->density, 0, 'f', 3));
    export_->setEnabled(true);
  } catch (const std::exception& e) {
    view_->setMessage(tr("Layer %1: no attention map — %2").arg(layer).arg(QString::fromUtf8(e.what())));
    export_->setEnabled(false);
  }
  emit layerSelected(layer);
}

void AttentionMapPanel::setModelHeads(int n_heads) {
  model_heads_ = std::max(1, n_heads);
  if (report_ && layer_ >= 0) selectLayer(layer_);
}

QList<double> AttentionMapPanel::densityValues() const {
  QList<double> values;
  for (int i = 0; i < fa_->count(); ++i) values << fa_->at(i) + sa_->at(i);
  return values;
}

void AttentionMapPanel::setDark(bool dark) {
  chart_view_->chart()->setTheme(dark ? QChart::ChartThemeDark : QChart::ChartThemeLight);
  chart_view_->chart()->setBackgroundVisible(false);
  fa_->setColor(modeColor(LayerMode::FA));
  sa_->setColor(modeColor(LayerMode::SA));
  view_->setDark(dark);
}

QString AttentionMapPanel::exportHeatmap(const QString& path) {
  if (!view_->mask()) return tr("There is no attention map to export: run a prompt first.");
  const bool svg = QFileInfo(path).suffix().toLower() == QStringLiteral("svg");
  const bool ok = svg ? view_->exportSvg(path) : view_->exportPng(path);
  return ok ? QString() : tr("Cannot write %1").arg(path);
}

void AttentionMapPanel::exportDialog() {
  QString path = QFileDialog::getSaveFileName(this, tr("Export Attention Map"),
                                              QStringLiteral("fluxscope-attention-layer%1.png").arg(layer_),
                                              tr("PNG image (*.png);;SVG image (*.svg)"));
  if (path.isEmpty()) return;
  if (QFileInfo(path).suffix().isEmpty()) path += QStringLiteral(".png");
  QString error = checkExportPath(path, true);  // the dialog has asked about replacing
  if (error.isEmpty()) error = exportHeatmap(path);
  if (!error.isEmpty()) criticalPlain(this, tr("Export Attention Map"), error);
}

}  // namespace flux::ui
