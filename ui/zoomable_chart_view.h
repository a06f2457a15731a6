// A QChartView with the zoom and pan a timing plot needs: drag a horizontal band to zoom in, the mouse wheel zooms
// around the pointer, Shift+drag or middle-drag or the arrow keys pan, right-click zooms out, double-click or Home
// resets.
#pragma once

#include <QChartView>
#include <QPoint>

namespace flux::ui {

class ZoomableChartView : public QChartView {
  Q_OBJECT
 public:
  explicit ZoomableChartView(QChart* chart, QWidget* parent = nullptr);

  void zoomBy(double factor);        // > 1 zooms in, around the plot centre
  void panBy(double dx, double dy);  // in pixels
  void resetZoom();

 protected:
  void wheelEvent(QWheelEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void keyPressEvent(QKeyEvent* event) override;

 private:
  bool panning_ = false;
  QPoint last_;
};

}  // namespace flux::ui
