#include "ui/timing_charts.h"

#include <QBarSet>
#include <QBuffer>
#include <QChart>
#include <QChartView>
#include <QFile>
#include <QLabel>
#include <QLineSeries>
#include <QPainter>
#include <QStackedBarSeries>
#include <QSvgGenerator>
#include <QTimer>
#include <QValueAxis>
#include <QVBoxLayout>

#include <algorithm>

#include "ui/layer_table_model.h"

namespace flux::ui {

using engine::LayerMode;

TimingCharts::TimingCharts(QWidget* parent) : QWidget(parent) {
  headline_ = new QLabel(tr("No run yet"));
  headline_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  headline_->setToolTip(tr("Time to first token, prompt processing and generation speed, share of SA layers"));

  fa_ = new QBarSet(tr("FA"));
  fa_->setColor(modeColor(LayerMode::FA));
  sa_ = new QBarSet(tr("SA"));
  sa_->setColor(modeColor(LayerMode::SA));
  auto* bars = new QStackedBarSeries();
  bars->append(fa_);
  bars->append(sa_);
  auto* prefill = new QChart();
  prefill->setTitle(tr("Prefill ms per layer"));
  prefill->addSeries(bars);
  // A value axis (bars sit at 0..n-1) so the layer numbers can be thinned to every 5th; category labels elide.
  layer_axis_ = new QValueAxis();
  layer_axis_->setTitleText(tr("layer"));
  layer_axis_->setLabelFormat(QStringLiteral("%d"));
  layer_axis_->setTickType(QValueAxis::TicksDynamic);
  layer_axis_->setTickAnchor(0.0);
  layer_axis_->setTickInterval(5.0);
  prefill_y_ = new QValueAxis();
  prefill_y_->setTitleText(tr("ms"));
  prefill->addAxis(layer_axis_, Qt::AlignBottom);
  prefill->addAxis(prefill_y_, Qt::AlignLeft);
  bars->attachAxis(layer_axis_);
  bars->attachAxis(prefill_y_);
  prefill_view_ = new QChartView(prefill);
  prefill_view_->setRenderHint(QPainter::Antialiasing);
  prefill_view_->setToolTip(tr("Prefill time of each layer; blue bars ran FA, orange bars SA"));

  decode_ = new QLineSeries();
  decode_->setName(tr("decode ms/token"));
  auto* decode = new QChart();
  decode->setTitle(tr("Decode ms per token"));
  decode->addSeries(decode_);
  decode_x_ = new QValueAxis();
  decode_x_->setTitleText(tr("token"));
  decode_x_->setLabelFormat(QStringLiteral("%d"));
  decode_x_->setTickType(QValueAxis::TicksDynamic);
  decode_x_->setTickAnchor(0.0);
  decode_x_->setTickInterval(1.0);
  decode_y_ = new QValueAxis();
  decode_y_->setTitleText(tr("ms"));
  decode->addAxis(decode_x_, Qt::AlignBottom);
  decode->addAxis(decode_y_, Qt::AlignLeft);
  decode_->attachAxis(decode_x_);
  decode_->attachAxis(decode_y_);
  decode->legend()->hide();
  decode_view_ = new QChartView(decode);
  decode_view_->setRenderHint(QPainter::Antialiasing);
  decode_view_->setToolTip(tr("Time of each generated token after the first (the first is the TTFT)"));

  flush_timer_ = new QTimer(this);
  flush_timer_->setInterval(100);
  connect(flush_timer_, &QTimer::timeout, this, &TimingCharts::flushTokens);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(headline_);
  layout->addWidget(prefill_view_, 1);
  layout->addWidget(decode_view_, 1);
}

void TimingCharts::beginRun(int n_layers) {
  fa_->remove(0, fa_->count());
  sa_->remove(0, sa_->count());
  for (int l = 0; l < n_layers; ++l) {
    fa_->append(0.0);
    sa_->append(0.0);
  }
  layer_axis_->setRange(-0.5, std::max(1, n_layers) - 0.5);
  prefill_max_ = 0.0;
  prefill_y_->setRange(0.0, 1.0);
  points_.clear();
  decode_->clear();
  decode_x_->setRange(0, 1);
  decode_y_->setRange(0.0, 1.0);
  headline_->setText(tr("Running…"));
  flush_timer_->start();
}

void TimingCharts::setLayerValue(int index, LayerMode mode, double ms) {
  if (index < 0 || index >= fa_->count()) return;
  fa_->replace(index, mode == LayerMode::FA ? ms : 0.0);
  sa_->replace(index, mode == LayerMode::SA ? ms : 0.0);
  prefill_max_ = std::max(prefill_max_, ms);
  prefill_y_->setRange(0.0, prefill_max_ > 0 ? prefill_max_ * 1.1 : 1.0);
}

void TimingCharts::addLayer(const engine::LayerReport& layer) { setLayerValue(layer.index, layer.mode, layer.prefill_ms); }

void TimingCharts::addToken(int index, const engine::TokenReport& token) {
  if (index == 0) return;  // the TTFT includes the prefill; it would flatten the line
  points_.append(QPointF(index, token.ms));
  dirty_ = true;
}

void TimingCharts::flushTokens() {
  if (!dirty_) return;
  dirty_ = false;
  decode_->replace(points_);
  double y_max = 0.0;
  for (const QPointF& p : points_) y_max = std::max(y_max, p.y());
  const qreal x_max = std::max<qreal>(1.0, points_.isEmpty() ? 1.0 : points_.back().x());
  decode_x_->setRange(0, x_max);
  // Whole-token ticks, about five of them: 1, 2, 5, 10, 20, 50, ...
  qreal step = 1.0;
  for (qreal base = 1.0; x_max / step > 6.0; base *= 10.0)
    for (qreal m : {1.0, 2.0, 5.0})
      if (x_max / step > 6.0) step = base * m;
  decode_x_->setTickInterval(step);
  decode_y_->setRange(0.0, y_max > 0 ? y_max * 1.1 : 1.0);
}

void TimingCharts::showReport(const engine::RunReport& report) {
  int n_layers = 0;
  for (const auto& l : report.layers) n_layers = std::max(n_layers, l.index + 1);
  beginRun(n_layers);
  flush_timer_->stop();
  for (const auto& l : report.layers) addLayer(l);
  for (std::size_t i = 0; i < report.tokens.size(); ++i) addToken(int(i), report.tokens[i]);
  flushTokens();
  const auto& s = report.summary;
  headline_->setText(tr("TTFT %1 ms · prefill %2 tok/s · decode %3 tok/s · SA %4% · %5 prompt tokens · %6")
                         .arg(s.ttft_ms, 0, 'f', 1)
                         .arg(s.prefill_tokens_per_s, 0, 'f', 1)
                         .arg(s.decode_tokens_per_s, 0, 'f', 1)
                         .arg(s.sa_fraction * 100.0, 0, 'f', 0)
                         .arg(report.prompt_tokens)
                         .arg(QString::fromStdString(report.status)));
}

QList<double> TimingCharts::prefillValues(LayerMode mode) const {
  const QBarSet* set = mode == LayerMode::FA ? fa_ : sa_;
  QList<double> values;
  for (int i = 0; i < set->count(); ++i) values << set->at(i);
  return values;
}

QList<QPointF> TimingCharts::decodePoints() {
  flushTokens();
  return decode_->points();
}

QString TimingCharts::headline() const { return headline_->text(); }

bool TimingCharts::exportPng(const QString& path) { return grab().save(path, "PNG"); }

QByteArray TimingCharts::toSvg() {
  flushTokens();
  QBuffer buffer;
  buffer.open(QIODevice::WriteOnly);
  QSvgGenerator svg;
  svg.setOutputDevice(&buffer);
  svg.setSize(size());
  svg.setViewBox(rect());
  svg.setTitle(tr("FluxScope timing"));
  QPainter painter(&svg);
  render(&painter);
  painter.end();
  return buffer.data();
}

bool TimingCharts::exportSvg(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly)) return false;
  return f.write(toSvg()) >= 0;
}

}  // namespace flux::ui
