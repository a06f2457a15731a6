// The zoomable attention heatmap: query blocks down, key blocks across, each tile coloured by how many heads computed
// it. Rasterisation (rasterizeMask) runs on a private one-thread pool; a generation counter drops superseded results,
// so setting a 1024 x 1024-block mask or zooming never blocks the event loop. Until the new raster arrives the last
// one is drawn stretched to the new view. Wheel zooms at the cursor, drag pans, double-click resets; the tooltip and
// hoveredTile() name the tile under the mouse (tokens, blocks, heads).
#pragma once

#include <QImage>
#include <QRectF>
#include <QThreadPool>
#include <QWidget>

#include <atomic>
#include <memory>

#include "ui/block_mask_raster.h"

namespace flux::ui {

class BlockMaskView : public QWidget {
  Q_OBJECT
 public:
  explicit BlockMaskView(QWidget* parent = nullptr);
  ~BlockMaskView() override;

  // The mask to draw (null: nothing), the prompt length (clips the last block in labels) and a title.
  void setMask(std::shared_ptr<const engine::BlockMask> mask, int64_t n_tokens, const QString& title);
  const engine::BlockMask* mask() const { return mask_.get(); }
  void setMessage(const QString& message);  // shown instead of a mask (e.g. "no recorded selection")
  void setDark(bool dark);

  // The visible part in blocks (x: key blocks, y: query blocks) and zoom.
  QRectF viewRegion() const { return view_; }
  void setViewRegion(const QRectF& blocks);
  void zoomAt(QPointF widget_pos, double factor);  // factor > 1 zooms in
  void resetZoom();

  // The last finished raster (the cells tests compare with the block lists) and whether one is on its way.
  const MaskRaster& raster() const { return raster_; }
  bool rasterPending() const { return pending_; }
  // The plot area inside the axes, in widget coordinates.
  QRect plotRect() const;
  // The block under a widget position; false outside the plot.
  bool blockAt(QPointF pos, int* q_block, int* k_block) const;
  QString hoveredTile() const { return hovered_; }

  // The widget as a picture (axes, legend, the current raster) for File → Export.
  bool exportPng(const QString& path);
  bool exportSvg(const QString& path);

 signals:
  void rasterReady();
  void tileHovered(const QString& description);

 protected:
  void paintEvent(QPaintEvent* event) override;
  void resizeEvent(QResizeEvent* event) override;
  void wheelEvent(QWheelEvent* event) override;
  void mousePressEvent(QMouseEvent* event) override;
  void mouseMoveEvent(QMouseEvent* event) override;
  void mouseReleaseEvent(QMouseEvent* event) override;
  void mouseDoubleClickEvent(QMouseEvent* event) override;
  void leaveEvent(QEvent* event) override;

 private:
  void requestRaster();
  void onRaster(int generation, std::shared_ptr<MaskRaster> raster);
  void clampView();
  QRectF blockToWidget(const MaskRegion& region) const;
  void drawAxes(QPainter& p, const QRect& plot) const;
  void drawLegend(QPainter& p, const QRect& plot) const;

  std::shared_ptr<const engine::BlockMask> mask_;
  int64_t n_tokens_ = 0;
  QString title_;
  QString message_;
  QString hovered_;
  bool dark_ = false;
  QRectF view_;  // visible blocks
  MaskRaster raster_;
  bool pending_ = false;
  std::shared_ptr<std::atomic<int>> generation_ = std::make_shared<std::atomic<int>>(0);
  QThreadPool pool_;
  bool dragging_ = false;
  QPointF drag_last_;
};

}  // namespace flux::ui
