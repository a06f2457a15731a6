#include "ui/timing_charts.h"

#include <QApplication>
#include <QBarSet>
#include <QBuffer>
#include <QChart>
#include <QFile>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QPainter>
#include <QPen>
#include <QStackedBarSeries>
#include <QSvgGenerator>
#include <QTimer>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>

#include "ui/layer_table_model.h"
#include "ui/zoomable_chart_view.h"

namespace flux::ui {

using engine::LayerMode;

namespace {

const QColor kDecodeColor(0x1f, 0x9e, 0xd8);
const QColor kRouterColor(0x8e, 0x44, 0xad);
const QColor kRestColor(0xa8, 0xa8, 0xa8);

// Whole-number ticks, about five of them: 1, 2, 5, 10, 20, 50, ...
double tickStep(double span) {
  double step = 1.0;
  for (double base = 1.0; span / step > 6.0; base *= 10.0)
    for (double m : {1.0, 2.0, 5.0})
      if (span / step > 6.0) step = base * m;
  return step;
}

QValueAxis* countAxis(const QString& title) {
  auto* axis = new QValueAxis();
  axis->setTitleText(title);
  axis->setLabelFormat(QStringLiteral("%d"));
  axis->setTickType(QValueAxis::TicksDynamic);
  axis->setTickAnchor(0.0);
  axis->setTickInterval(1.0);
  return axis;
}

}  // namespace

TimingCharts::TimingCharts(QWidget* parent) : QWidget(parent) {
  headline_ = new QLabel(tr("No run yet"));
  headline_->setWordWrap(true);
  headline_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  headline_->setToolTip(tr("Time to first token, prompt processing and generation speed, share of SA layers"));

  fa_ = new QBarSet(tr("FA attention"));
  fa_->setColor(modeColor(LayerMode::FA));
  sa_ = new QBarSet(tr("SA attention"));
  sa_->setColor(modeColor(LayerMode::SA));
  router_ = new QBarSet(tr("router"));
  router_->setColor(kRouterColor);
  rest_ = new QBarSet(tr("rest of layer"));
  rest_->setColor(kRestColor);
  auto* bars = new QStackedBarSeries();
  bars->append(fa_);
  bars->append(sa_);
  bars->append(router_);
  bars->append(rest_);
  auto* prefill = new QChart();
  prefill->setTitle(tr("Prefill ms per layer"));
  prefill->addSeries(bars);
  // A value axis (bars sit at 0..n-1) so the layer numbers can be thinned to every 5th; category labels elide.
  layer_axis_ = countAxis(tr("layer"));
  layer_axis_->setTickInterval(5.0);
  prefill_y_ = new QValueAxis();
  prefill_y_->setTitleText(tr("ms"));
  prefill_y_->setLabelFormat(QStringLiteral("%.0f"));
  prefill->addAxis(layer_axis_, Qt::AlignBottom);
  prefill->addAxis(prefill_y_, Qt::AlignLeft);
  bars->attachAxis(layer_axis_);
  bars->attachAxis(prefill_y_);
  prefill->legend()->setAlignment(Qt::AlignRight);
  prefill_view_ = new ZoomableChartView(prefill);
  prefill_view_->setRenderHint(QPainter::Antialiasing);
  prefill_view_->setToolTip(
      tr("Prefill time of each layer: the attention op alone at the bottom (blue FA, orange SA), the router's share "
         "in purple, the rest of the layer (projections, MLP, norms) in grey.\n"
         "Drag to zoom, wheel zooms, Shift+drag pans, double-click resets"));

  decode_ = new QLineSeries();
  decode_->setName(tr("ms/token"));
  decode_->setColor(kDecodeColor);
  cumulative_ = new QLineSeries();
  cumulative_->setName(tr("cumulative ms"));
  QPen dashed(QColor(0x2e, 0x9d, 0x5a));
  dashed.setWidthF(1.5);
  dashed.setStyle(Qt::DashLine);
  cumulative_->setPen(dashed);
  auto* decode = new QChart();
  decode->setTitle(tr("Decode ms per token · cumulative time"));
  decode->addSeries(decode_);
  decode->addSeries(cumulative_);
  decode_x_ = countAxis(tr("token"));
  decode_y_ = new QValueAxis();
  decode_y_->setTitleText(tr("ms"));
  decode_y_->setLabelFormat(QStringLiteral("%.0f"));
  cumulative_y_ = new QValueAxis();
  cumulative_y_->setTitleText(tr("Σ ms"));
  cumulative_y_->setLabelFormat(QStringLiteral("%.0f"));
  decode->addAxis(decode_x_, Qt::AlignBottom);
  decode->addAxis(decode_y_, Qt::AlignLeft);
  decode->addAxis(cumulative_y_, Qt::AlignRight);
  decode_->attachAxis(decode_x_);
  decode_->attachAxis(decode_y_);
  cumulative_->attachAxis(decode_x_);
  cumulative_->attachAxis(cumulative_y_);
  decode->legend()->setAlignment(Qt::AlignBottom);
  decode_view_ = new ZoomableChartView(decode);
  decode_view_->setRenderHint(QPainter::Antialiasing);
  decode_view_->setToolTip(
      tr("Solid: time of each generated token after the first (the first is the TTFT).\n"
         "Dashed: time since the run started when each token was out.\n"
         "Drag to zoom, wheel zooms, Shift+drag pans, double-click resets"));

  flush_timer_ = new QTimer(this);
  flush_timer_->setInterval(100);
  connect(flush_timer_, &QTimer::timeout, this, &TimingCharts::flushTokens);

  for (QChart* chart : {prefill, decode}) {
    chart->setMargins(QMargins(2, 2, 2, 2));
    chart->setBackgroundVisible(false);  // the window colour shows through, in both palettes
    chart->setBackgroundRoundness(0);
    QFont title = chart->titleFont();
    title.setBold(true);
    chart->setTitleFont(title);
  }
  charts_layout_ = new QBoxLayout(QBoxLayout::TopToBottom);
  charts_layout_->addWidget(prefill_view_, 1);
  charts_layout_->addWidget(decode_view_, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(headline_);
  layout->addLayout(charts_layout_, 1);
}

void TimingCharts::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  charts_layout_->setDirection(width() > height() * 1.4 ? QBoxLayout::LeftToRight : QBoxLayout::TopToBottom);
}

void TimingCharts::beginRun(int n_layers) {
  for (QBarSet* set : {fa_, sa_, router_, rest_}) {
    set->remove(0, set->count());
    for (int l = 0; l < n_layers; ++l) set->append(0.0);
  }
  layer_modes_ = QList<LayerMode>(std::max(0, n_layers), LayerMode::FA);
  prefill_view_->resetZoom();
  decode_view_->resetZoom();
  layer_axis_->setRange(-0.5, std::max(1, n_layers) - 0.5);
  prefill_max_ = 0.0;
  prefill_y_->setRange(0.0, 1.0);
  points_.clear();
  cumulative_points_.clear();
  elapsed_ms_ = 0.0;
  decode_->clear();
  cumulative_->clear();
  decode_x_->setRange(0, 1);
  decode_y_->setRange(0.0, 1.0);
  cumulative_y_->setRange(0.0, 1.0);
  headline_->setText(tr("Running…"));
  flush_timer_->start();
}

void TimingCharts::addLayer(const engine::LayerReport& layer) {
  if (layer.index < 0 || layer.index >= fa_->count()) return;
  // prefill_ms includes the router's and the attention op's time: the three parts stack to the layer's total. A
  // report without attention times (0) shows the layer without the router as its mode's part, as before.
  const double router_ms = std::clamp(layer.router_ms, 0.0, layer.prefill_ms);
  const double measured = std::clamp(layer.attention_ms, 0.0, layer.prefill_ms - router_ms);
  const double attention = measured > 0.0 ? measured : layer.prefill_ms - router_ms;
  fa_->replace(layer.index, layer.mode == LayerMode::FA ? attention : 0.0);
  sa_->replace(layer.index, layer.mode == LayerMode::SA ? attention : 0.0);
  router_->replace(layer.index, router_ms);
  rest_->replace(layer.index, layer.prefill_ms - router_ms - attention);
  layer_modes_[layer.index] = layer.mode;
  prefill_max_ = std::max(prefill_max_, layer.prefill_ms);
  if (!prefill_view_->chart()->isZoomed()) prefill_y_->setRange(0.0, prefill_max_ > 0 ? prefill_max_ * 1.1 : 1.0);
}

void TimingCharts::addToken(int index, const engine::TokenReport& token) {
  elapsed_ms_ += token.ms;
  cumulative_points_.append(QPointF(index, elapsed_ms_));
  if (index > 0) points_.append(QPointF(index, token.ms));  // the TTFT includes the prefill: it would flatten the line
  dirty_ = true;
}

void TimingCharts::flushTokens() {
  if (!dirty_) return;
  dirty_ = false;
  decode_->replace(points_);
  cumulative_->replace(cumulative_points_);
  if (decode_view_->chart()->isZoomed()) return;  // keep the user's zoom while tokens arrive
  double y_max = 0.0;
  for (const QPointF& p : points_) y_max = std::max(y_max, p.y());
  const qreal x_max = std::max<qreal>(1.0, cumulative_points_.isEmpty() ? 1.0 : cumulative_points_.back().x());
  decode_x_->setRange(0, x_max);
  decode_x_->setTickInterval(tickStep(x_max));
  decode_y_->setRange(0.0, y_max > 0 ? y_max * 1.1 : 1.0);
  cumulative_y_->setRange(0.0, elapsed_ms_ > 0 ? elapsed_ms_ * 1.05 : 1.0);
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
  double router_ms = 0.0, attention_ms = 0.0;
  for (const auto& l : report.layers) {
    router_ms += l.router_ms;
    attention_ms += l.attention_ms;
  }
  headline_->setText(tr("<b>TTFT %1 ms</b> · prefill %2 tok/s · <b>decode %3 tok/s</b> · <b>SA %4%</b> · "
                        "%5 prompt tokens · %6 generated · total %7 ms · attention %10 ms · router %9 ms · %8")
                         .arg(s.ttft_ms, 0, 'f', 1)
                         .arg(s.prefill_tokens_per_s, 0, 'f', 1)
                         .arg(s.decode_tokens_per_s, 0, 'f', 1)
                         .arg(s.sa_fraction * 100.0, 0, 'f', 0)
                         .arg(report.prompt_tokens)
                         .arg(report.tokens.size())
                         .arg(s.total_ms, 0, 'f', 0)
                         .arg(QString::fromStdString(report.status))
                         .arg(router_ms, 0, 'f', 1)
                         .arg(attention_ms, 0, 'f', 1));
}

namespace {
QList<double> values(const QBarSet* set) {
  QList<double> v;
  for (int i = 0; i < set->count(); ++i) v << set->at(i);
  return v;
}
}  // namespace

QList<double> TimingCharts::attentionValues(LayerMode mode) const {
  return values(mode == LayerMode::FA ? fa_ : sa_);
}

QList<double> TimingCharts::routerValues() const {
  return values(router_);
}

QList<double> TimingCharts::restValues() const {
  return values(rest_);
}

QList<double> TimingCharts::prefillValues(LayerMode mode) const {
  QList<double> v = attentionValues(mode);
  for (int i = 0; i < v.size(); ++i)
    if (layer_modes_[i] == mode) v[i] += rest_->at(i);
  return v;
}

QList<QPointF> TimingCharts::decodePoints() {
  flushTokens();
  return decode_->points();
}

QList<QPointF> TimingCharts::cumulativePoints() {
  flushTokens();
  return cumulative_->points();
}

QString TimingCharts::headline() const {
  return headline_->text();
}

void TimingCharts::setDark(bool dark) {
  for (ZoomableChartView* view : {prefill_view_, decode_view_}) {
    view->chart()->setTheme(dark ? QChart::ChartThemeDark : QChart::ChartThemeLight);
    view->chart()->setBackgroundVisible(false);
    // The new palette is already the application's here: white (base) charts in light, window-grey in dark.
    view->setBackgroundBrush(dark ? QApplication::palette().window() : QApplication::palette().base());
  }
  decode_->setColor(kDecodeColor);
  // A theme resets series colours: put the mode colours back (colour keeps its meaning in both palettes).
  fa_->setColor(modeColor(LayerMode::FA));
  sa_->setColor(modeColor(LayerMode::SA));
  router_->setColor(kRouterColor);
  rest_->setColor(kRestColor);
  QPen dashed = cumulative_->pen();
  dashed.setColor(QColor(0x2e, 0x9d, 0x5a));
  dashed.setStyle(Qt::DashLine);
  cumulative_->setPen(dashed);
}

bool TimingCharts::exportPng(const QString& path) {
  return grab().save(path, "PNG");
}

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
