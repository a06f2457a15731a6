// A QChartView with the zoom and pan a timing plot needs: drag a horizontal band to zoom in, the mouse wheel zooms
// around the pointer, Shift+drag or middle-drag or the arrow keys pan, right-click zooms out, double-click or Home
// resets. Zoom and pan stop at the data (the axes' ranges before the first zoom), and count axes (label format
// "%d", dynamic ticks) keep whole-number ticks at any zoom.
#pragma once

#include <QChartView>
#include <QHash>
#include <QPoint>

class QValueAxis;

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
  struct Home {
    double min = 0.0, max = 0.0, tick_interval = 0.0;
  };
  // Remembers the unzoomed ranges (the data) before the first zoom or pan step.
  void captureHome();
  // Keeps every value axis inside its home range and count axes on whole ticks; back to home when zoomed out past it.
  void clampToData();

  bool panning_ = false;
  QPoint last_;
  QHash<QValueAxis*, Home> home_;
};

}  // namespace flux::ui
