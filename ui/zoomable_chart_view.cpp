#include "ui/zoomable_chart_view.h"

#include <QChart>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QValueAxis>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace flux::ui {

ZoomableChartView::ZoomableChartView(QChart* chart, QWidget* parent) : QChartView(chart, parent) {
  setRubberBand(QChartView::HorizontalRubberBand);
  setFocusPolicy(Qt::StrongFocus);
}

namespace {

// A whole step (1, 2, 5, 10, 20, ...) giving at most ~6 ticks over `span`, never below `floor_step`.
double wholeStep(double span, double floor_step) {
  double step = 1.0;
  for (double base = 1.0; span / step > 6.0; base *= 10.0)
    for (double m : {1.0, 2.0, 5.0})
      if (span / step > 6.0) step = base * m;
  return std::max(1.0, std::min(step, floor_step));
}

bool isCountAxis(const QValueAxis* axis) {
  return axis->labelFormat() == QStringLiteral("%d") && axis->tickType() == QValueAxis::TicksDynamic;
}

}  // namespace

void ZoomableChartView::captureHome() {
  if (chart()->isZoomed() && !home_.isEmpty()) return;
  home_.clear();
  for (QAbstractAxis* a : chart()->axes())
    if (auto* v = qobject_cast<QValueAxis*>(a)) home_.insert(v, Home{v->min(), v->max(), v->tickInterval()});
}

void ZoomableChartView::clampToData() {
  bool all_home = true;
  for (auto it = home_.cbegin(); it != home_.cend(); ++it) {
    QValueAxis* axis = it.key();
    if (!chart()->axes().contains(axis)) continue;
    const Home& h = it.value();
    double lo = axis->min(), hi = axis->max();
    const double span = std::min(hi - lo, h.max - h.min);
    lo = std::clamp(lo, h.min, h.max - span);
    hi = lo + span;
    if (lo != axis->min() || hi != axis->max()) axis->setRange(lo, hi);
    if (isCountAxis(axis)) axis->setTickInterval(wholeStep(span, h.tick_interval));
    all_home = all_home && lo <= h.min && hi >= h.max;
  }
  if (all_home && chart()->isZoomed()) resetZoom();
}

void ZoomableChartView::zoomBy(double factor) {
  if (factor <= 0.0) return;
  captureHome();
  chart()->zoom(factor);
  clampToData();
}

void ZoomableChartView::panBy(double dx, double dy) {
  captureHome();
  chart()->scroll(dx, dy);
  clampToData();
}

void ZoomableChartView::resetZoom() {
  chart()->zoomReset();
  for (auto it = home_.cbegin(); it != home_.cend(); ++it)
    if (chart()->axes().contains(it.key()) && isCountAxis(it.key()))
      it.key()->setTickInterval(it.value().tick_interval);
  home_.clear();
}

void ZoomableChartView::wheelEvent(QWheelEvent* event) {
  const double steps = event->angleDelta().y() / 120.0;
  if (steps == 0.0) return;
  // Zoom around the pointer: into (or out to) a rectangle of the plot area centred on it.
  const QRectF area = chart()->plotArea();
  const double factor = steps > 0 ? 1.25 : 0.8;
  QRectF r(0, 0, area.width() / factor, area.height() / factor);
  r.moveCenter(chart()->mapFromScene(mapToScene(event->position().toPoint())));
  captureHome();
  chart()->zoomIn(r);
  clampToData();  // zooming out stops at the data; the ticks stay whole numbers
  event->accept();
}

void ZoomableChartView::mousePressEvent(QMouseEvent* event) {
  if (event->button() == Qt::MiddleButton ||
      (event->button() == Qt::LeftButton && (event->modifiers() & Qt::ShiftModifier))) {
    panning_ = true;
    last_ = event->position().toPoint();
    setCursor(Qt::ClosedHandCursor);
    event->accept();
    return;
  }
  QChartView::mousePressEvent(event);
}

void ZoomableChartView::mouseMoveEvent(QMouseEvent* event) {
  if (panning_) {
    const QPoint now = event->position().toPoint();
    panBy(last_.x() - now.x(), now.y() - last_.y());
    last_ = now;
    event->accept();
    return;
  }
  QChartView::mouseMoveEvent(event);
}

void ZoomableChartView::mouseReleaseEvent(QMouseEvent* event) {
  if (panning_) {
    panning_ = false;
    unsetCursor();
    event->accept();
    return;
  }
  if (event->button() == Qt::LeftButton || event->button() == Qt::RightButton) captureHome();
  QChartView::mouseReleaseEvent(event);  // the rubber band zooms in, right-click zooms out
  clampToData();
}

void ZoomableChartView::mouseDoubleClickEvent(QMouseEvent* event) {
  resetZoom();
  event->accept();
}

void ZoomableChartView::keyPressEvent(QKeyEvent* event) {
  switch (event->key()) {
    case Qt::Key_Plus:
    case Qt::Key_Equal:
      zoomBy(1.25);
      break;
    case Qt::Key_Minus:
      zoomBy(0.8);
      break;
    case Qt::Key_Left:
      panBy(-20, 0);
      break;
    case Qt::Key_Right:
      panBy(20, 0);
      break;
    case Qt::Key_Up:
      panBy(0, 20);
      break;
    case Qt::Key_Down:
      panBy(0, -20);
      break;
    case Qt::Key_Home:
      resetZoom();
      break;
    default:
      QChartView::keyPressEvent(event);
      return;
  }
  event->accept();
}

}  // namespace flux::ui
