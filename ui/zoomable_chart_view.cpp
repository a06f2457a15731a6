#include "ui/zoomable_chart_view.h"

#include <QChart>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QWheelEvent>

namespace flux::ui {

ZoomableChartView::ZoomableChartView(QChart* chart, QWidget* parent) : QChartView(chart, parent) {
  setRubberBand(QChartView::HorizontalRubberBand);
  setFocusPolicy(Qt::StrongFocus);
}

void ZoomableChartView::zoomBy(double factor) {
  if (factor > 0.0) chart()->zoom(factor);
}

void ZoomableChartView::panBy(double dx, double dy) {
  chart()->scroll(dx, dy);
}

void ZoomableChartView::resetZoom() {
  chart()->zoomReset();
}

void ZoomableChartView::wheelEvent(QWheelEvent* event) {
  const double steps = event->angleDelta().y() / 120.0;
  if (steps == 0.0) return;
  // Zoom around the pointer: into (or out to) a rectangle of the plot area centred on it.
  const QRectF area = chart()->plotArea();
  const double factor = steps > 0 ? 1.25 : 0.8;
  QRectF r(0, 0, area.width() / factor, area.height() / factor);
  r.moveCenter(chart()->mapFromScene(mapToScene(event->position().toPoint())));
  chart()->zoomIn(r);
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
  QChartView::mouseReleaseEvent(event);
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
