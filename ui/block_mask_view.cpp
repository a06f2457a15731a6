#include "ui/block_mask_view.h"

#include <QFile>
#include <QLinearGradient>
#include <QMouseEvent>
#include <QPainter>
#include <QSvgGenerator>
#include <QToolTip>
#include <QWheelEvent>

#include <algorithm>
#include <cmath>

namespace flux::ui {
namespace {

constexpr int kLeft = 58, kTop = 22, kRight = 64, kBottom = 38;
constexpr double kMinBlocks = 4.0;  // the deepest zoom shows 4 x 4 blocks

QString tokenLabel(int64_t tokens) {
  return tokens >= 10'000 ? QStringLiteral("%1k").arg(double(tokens) / 1000.0, 0, 'g', 4) : QString::number(tokens);
}

// A whole number of blocks, 1-2-5 steps, giving about `ticks` ticks over `span` blocks.
double blockStep(double span, int ticks) {
  double step = 1.0;
  for (double base = 1.0; span / step > ticks; base *= 10.0)
    for (double m : {1.0, 2.0, 5.0})
      if (span / step > ticks) step = base * m;
  return step;
}

}  // namespace

BlockMaskView::BlockMaskView(QWidget* parent) : QWidget(parent) {
  pool_.setMaxThreadCount(1);  // one raster at a time; superseded ones stop at their next poll
  setMouseTracking(true);
  setMinimumSize(260, 220);
  setMessage(tr("No run yet: run a prompt to see which attention tiles each layer computed"));
}

BlockMaskView::~BlockMaskView() {
  generation_->fetch_add(1);
  pool_.clear();
  pool_.waitForDone();  // a running job posts to this object: let it finish before the object goes
}

void BlockMaskView::setMask(std::shared_ptr<const engine::BlockMask> mask, int64_t n_tokens, const QString& title) {
  const bool same_shape = mask && mask_ && mask->n_q_blocks == mask_->n_q_blocks &&
                          mask->n_kv_blocks == mask_->n_kv_blocks;
  mask_ = std::move(mask);
  n_tokens_ = n_tokens;
  title_ = title;
  message_.clear();
  raster_ = {};
  if (!same_shape) view_ = mask_ ? QRectF(0, 0, mask_->n_kv_blocks, mask_->n_q_blocks) : QRectF();
  requestRaster();
  update();
}

void BlockMaskView::setMessage(const QString& message) {
  generation_->fetch_add(1);
  mask_.reset();
  raster_ = {};
  pending_ = false;
  message_ = message;
  update();
}

void BlockMaskView::setDark(bool dark) {
  dark_ = dark;
  requestRaster();
}

QRect BlockMaskView::plotRect() const {
  const int side = std::max(10, std::min(width() - kLeft - kRight, height() - kTop - kBottom));
  return QRect(kLeft, kTop, side, side);
}

void BlockMaskView::clampView() {
  if (!mask_) return;
  const double n_x = mask_->n_kv_blocks, n_y = mask_->n_q_blocks;
  double w = std::clamp(view_.width(), std::min(kMinBlocks, n_x), n_x);
  double h = std::clamp(view_.height(), std::min(kMinBlocks, n_y), n_y);
  const double x = std::clamp(view_.left(), 0.0, n_x - w);
  const double y = std::clamp(view_.top(), 0.0, n_y - h);
  view_ = QRectF(x, y, w, h);
}

void BlockMaskView::setViewRegion(const QRectF& blocks) {
  view_ = blocks;
  clampView();
  requestRaster();
  update();
}

void BlockMaskView::resetZoom() {
  if (mask_) setViewRegion(QRectF(0, 0, mask_->n_kv_blocks, mask_->n_q_blocks));
}

void BlockMaskView::zoomAt(QPointF pos, double factor) {
  if (!mask_ || factor <= 0) return;
  const QRect plot = plotRect();
  // Keep the block under the cursor where it is.
  const double fx = std::clamp((pos.x() - plot.left()) / plot.width(), 0.0, 1.0);
  const double fy = std::clamp((pos.y() - plot.top()) / plot.height(), 0.0, 1.0);
  const QPointF anchor(view_.left() + fx * view_.width(), view_.top() + fy * view_.height());
  const double w = view_.width() / factor, h = view_.height() / factor;
  setViewRegion(QRectF(anchor.x() - fx * w, anchor.y() - fy * h, w, h));
}

void BlockMaskView::requestRaster() {
  if (!mask_) return;
  const QRect plot = plotRect();
  const qreal dpr = devicePixelRatioF();
  const MaskRegion region{int(std::floor(view_.top())), int(std::ceil(view_.bottom())), int(std::floor(view_.left())),
                          int(std::ceil(view_.right()))};
  const QSize pixels(int(plot.width() * dpr), int(plot.height() * dpr));
  const int g = generation_->fetch_add(1) + 1;
  pending_ = true;
  std::shared_ptr<const engine::BlockMask> mask = mask_;
  std::shared_ptr<std::atomic<int>> generation = generation_;
  const bool dark = dark_;
  pool_.start([this, mask, generation, g, region, pixels, dark] {
    if (generation->load() != g) return;
    auto raster = std::make_shared<MaskRaster>(
        rasterizeMask(*mask, region, pixels, dark, [&] { return generation->load() != g; }));
    if (generation->load() != g) return;
    QMetaObject::invokeMethod(this, [this, g, raster] { onRaster(g, raster); }, Qt::QueuedConnection);
  });
}

void BlockMaskView::onRaster(int generation, std::shared_ptr<MaskRaster> raster) {
  if (generation != generation_->load()) return;  // a newer request is on its way
  raster_ = std::move(*raster);
  pending_ = false;
  update();
  emit rasterReady();
}

QRectF BlockMaskView::blockToWidget(const MaskRegion& region) const {
  const QRect plot = plotRect();
  const double sx = plot.width() / view_.width(), sy = plot.height() / view_.height();
  return QRectF(plot.left() + (region.k0 - view_.left()) * sx, plot.top() + (region.q0 - view_.top()) * sy,
                region.cols() * sx, region.rows() * sy);
}

bool BlockMaskView::blockAt(QPointF pos, int* q_block, int* k_block) const {
  const QRect plot = plotRect();
  if (!mask_ || !plot.contains(pos.toPoint())) return false;
  *k_block = std::clamp(int(view_.left() + (pos.x() - plot.left()) * view_.width() / plot.width()), 0,
                        mask_->n_kv_blocks - 1);
  *q_block = std::clamp(int(view_.top() + (pos.y() - plot.top()) * view_.height() / plot.height()), 0,
                        mask_->n_q_blocks - 1);
  return true;
}

void BlockMaskView::resizeEvent(QResizeEvent* event) {
  QWidget::resizeEvent(event);
  requestRaster();
}

void BlockMaskView::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const QColor text = palette().color(QPalette::WindowText);
  if (!mask_) {
    p.setPen(text);
    p.drawText(rect().adjusted(12, 12, -12, -12), Qt::AlignCenter | Qt::TextWordWrap, message_);
    return;
  }
  const QRect plot = plotRect();
  p.fillRect(plot, palette().color(QPalette::Base));
  if (!raster_.isNull()) {
    p.save();
    p.setClipRect(plot);
    // Nearest-neighbour: a zoomed-in tile stays a sharp square. Until a newer raster arrives the last one is
    // stretched to where its blocks are now.
    p.setRenderHint(QPainter::SmoothPixmapTransform, false);
    p.drawImage(blockToWidget(raster_.region), raster_.image);
    p.restore();
  }
  p.setPen(palette().color(QPalette::Mid));
  p.drawRect(plot.adjusted(0, 0, -1, -1));
  drawAxes(p, plot);
  drawLegend(p, plot);
  p.setPen(text);
  QFont bold = font();
  bold.setBold(true);
  p.setFont(bold);
  const QRect title(plot.left(), 0, width() - plot.left() - 2, kTop);
  p.drawText(title, Qt::AlignLeft | Qt::AlignVCenter, p.fontMetrics().elidedText(title_, Qt::ElideRight, title.width()));
}

void BlockMaskView::drawAxes(QPainter& p, const QRect& plot) const {
  const QColor text = palette().color(QPalette::WindowText);
  QFont small = font();
  small.setPointSizeF(small.pointSizeF() * 0.85);
  p.setFont(small);
  p.setPen(text);
  const int block = mask_->block;
  const double sx = plot.width() / view_.width(), sy = plot.height() / view_.height();
  const double step_x = blockStep(view_.width(), 5), step_y = blockStep(view_.height(), 5);
  for (double b = std::ceil(view_.left() / step_x) * step_x; b <= view_.right() + 1e-9; b += step_x) {
    const int x = int(plot.left() + (b - view_.left()) * sx);
    p.drawLine(x, plot.bottom(), x, plot.bottom() + 4);
    p.drawText(QRect(x - 40, plot.bottom() + 4, 80, 14), Qt::AlignHCenter | Qt::AlignTop,
               tokenLabel(int64_t(b) * block));
  }
  for (double b = std::ceil(view_.top() / step_y) * step_y; b <= view_.bottom() + 1e-9; b += step_y) {
    const int y = int(plot.top() + (b - view_.top()) * sy);
    p.drawLine(plot.left() - 4, y, plot.left(), y);
    p.drawText(QRect(0, y - 7, plot.left() - 6, 14), Qt::AlignRight | Qt::AlignVCenter,
               tokenLabel(int64_t(b) * block));
  }
  // The axis title may be wider than a small plot: centre it under the plot, clipped only by the widget.
  const int title_w = std::max(plot.width(), 320);
  p.drawText(QRect(std::max(0, plot.center().x() - title_w / 2), plot.bottom() + 18, title_w, 16), Qt::AlignHCenter,
             tr("key tokens · blocks %1–%2 of %3, %4 tokens each")
                 .arg(int(view_.left()))
                 .arg(int(std::ceil(view_.right())) - 1)
                 .arg(mask_->n_kv_blocks)
                 .arg(block));
  p.save();
  p.translate(12, plot.center().y());
  p.rotate(-90);
  p.drawText(QRect(-plot.height() / 2, -8, plot.height(), 16), Qt::AlignHCenter,
             tr("query tokens · blocks %1–%2").arg(int(view_.top())).arg(int(std::ceil(view_.bottom())) - 1));
  p.restore();
}

void BlockMaskView::drawLegend(QPainter& p, const QRect& plot) const {
  const QRect bar(plot.right() + 14, plot.top() + 16, 12, std::min(160, plot.height() - 40));
  QLinearGradient g(bar.bottomLeft(), bar.topLeft());
  for (int i = 0; i <= 8; ++i) {
    const double f = i / 8.0;
    g.setColorAt(f, QColor(maskColor(std::max(1, int(std::lround(f * mask_->n_heads))), mask_->n_heads, dark_)));
  }
  p.fillRect(bar, g);
  p.setPen(palette().color(QPalette::WindowText));
  p.drawText(QRect(bar.left() - 8, plot.top(), 60, 14), Qt::AlignLeft, tr("heads"));
  p.drawText(QRect(bar.right() + 3, bar.top() - 7, 40, 14), Qt::AlignLeft | Qt::AlignVCenter,
             QString::number(mask_->n_heads));
  p.drawText(QRect(bar.right() + 3, bar.bottom() - 7, 40, 14), Qt::AlignLeft | Qt::AlignVCenter, QStringLiteral("1"));
  const QRect none(bar.left(), bar.bottom() + 10, 12, 12);
  p.fillRect(none, QColor(maskColor(0, mask_->n_heads, dark_)));
  p.drawText(QRect(none.left(), none.bottom() + 2, kRight, 28), Qt::AlignLeft | Qt::TextWordWrap, tr("not\ncomputed"));
}

void BlockMaskView::wheelEvent(QWheelEvent* event) {
  zoomAt(event->position(), std::pow(1.0015, event->angleDelta().y()));
  event->accept();
}

void BlockMaskView::mousePressEvent(QMouseEvent* event) {
  if (event->button() == Qt::LeftButton && mask_) {
    dragging_ = true;
    drag_last_ = event->position();
    setCursor(Qt::ClosedHandCursor);
  }
}

void BlockMaskView::mouseMoveEvent(QMouseEvent* event) {
  if (dragging_) {
    const QRect plot = plotRect();
    const QPointF d = event->position() - drag_last_;
    drag_last_ = event->position();
    view_.translate(-d.x() * view_.width() / plot.width(), -d.y() * view_.height() / plot.height());
    clampView();
    requestRaster();
    update();
  }
  int q = 0, k = 0;
  if (blockAt(event->position(), &q, &k)) {
    hovered_ = describeTile(*mask_, q, k, n_tokens_);
    QToolTip::showText(event->globalPosition().toPoint(), hovered_, this);
  } else {
    hovered_.clear();
    QToolTip::hideText();
  }
  emit tileHovered(hovered_);
}

void BlockMaskView::mouseReleaseEvent(QMouseEvent*) {
  dragging_ = false;
  unsetCursor();
}

void BlockMaskView::mouseDoubleClickEvent(QMouseEvent*) {
  resetZoom();
}

void BlockMaskView::leaveEvent(QEvent*) {
  hovered_.clear();
  emit tileHovered(hovered_);
}

bool BlockMaskView::exportPng(const QString& path) {
  return grab().save(path, "PNG");
}

bool BlockMaskView::exportSvg(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly)) return false;
  QSvgGenerator svg;
  svg.setOutputDevice(&f);
  svg.setSize(size());
  svg.setViewBox(rect());
  svg.setTitle(tr("FluxScope attention map — %1").arg(title_));
  QPainter painter(&svg);
  render(&painter);
  return painter.end();
}

}  // namespace flux::ui
