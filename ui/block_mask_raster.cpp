#include "ui/block_mask_raster.h"

#include <QColor>
#include <QObject>
#include <QPainter>

#include <algorithm>

namespace flux::ui {

MaskRegion fullRegion(const engine::BlockMask& mask) {
  return MaskRegion{0, mask.n_q_blocks, 0, mask.n_kv_blocks};
}

QRgb maskColor(int value, int n_heads, bool dark) {
  if (value == kNotCausal) return qRgba(0, 0, 0, 0);
  if (value <= 0) return dark ? qRgb(0x3a, 0x3a, 0x40) : qRgb(0xe8, 0xe8, 0xe8);
  // Three stops, pale yellow (few heads) -> orange -> dark red (every head): dark reads as "computed".
  const double f = std::clamp(double(value) / double(std::max(1, n_heads)), 0.0, 1.0);
  const QColor a(0xfe, 0xd9, 0x76), b(0xfd, 0x8d, 0x3c), c(0xb1, 0x00, 0x26);
  const auto mix = [](const QColor& x, const QColor& y, double t) {
    return qRgb(int(x.red() + (y.red() - x.red()) * t), int(x.green() + (y.green() - x.green()) * t),
                int(x.blue() + (y.blue() - x.blue()) * t));
  };
  return f < 0.5 ? mix(a, b, f * 2.0) : mix(b, c, (f - 0.5) * 2.0);
}

MaskRaster rasterizeMask(const engine::BlockMask& mask, MaskRegion region, QSize max_pixels, bool dark,
                         const std::function<bool()>& cancelled) {
  MaskRaster r;
  region.q0 = std::clamp(region.q0, 0, mask.n_q_blocks);
  region.q1 = std::clamp(region.q1, region.q0, mask.n_q_blocks);
  region.k0 = std::clamp(region.k0, 0, mask.n_kv_blocks);
  region.k1 = std::clamp(region.k1, region.k0, mask.n_kv_blocks);
  r.region = region;
  r.n_heads = mask.n_heads;
  if (region.rows() == 0 || region.cols() == 0 || max_pixels.isEmpty()) return r;
  const int w = std::min(region.cols(), max_pixels.width());
  const int h = std::min(region.rows(), max_pixels.height());
  std::vector<int> cells(std::size_t(w) * std::size_t(h), kNotCausal);
  // Block -> pixel: floor((b - b0) * pixels / blocks); every block lands on exactly one pixel.
  const auto px = [&](int k) { return int(int64_t(k - region.k0) * w / region.cols()); };
  for (int q = region.q0; q < region.q1; ++q) {
    if ((q & 63) == 0 && cancelled && cancelled()) return MaskRaster{};
    int* line = cells.data() + std::size_t(int64_t(q - region.q0) * h / region.rows()) * std::size_t(w);
    // Causal tiles of this row: key blocks [k0, min(causal_end, k1)) are at least "not computed".
    const int causal_end = std::min(mask.causal_end(q), region.k1);
    if (causal_end > region.k0)
      for (int x = 0, x_end = px(causal_end - 1); x <= x_end; ++x) line[x] = std::max(line[x], 0);
    const std::span<const int32_t> kv = mask.row(q);
    const std::span<const uint16_t> heads = mask.row_heads(q);
    for (auto it = std::lower_bound(kv.begin(), kv.end(), region.k0); it != kv.end() && *it < region.k1; ++it) {
      int& cell = line[px(*it)];
      cell = std::max(cell, int(heads[std::size_t(it - kv.begin())]));
    }
  }
  r.width = w;
  r.height = h;
  r.cells = std::move(cells);
  r.image = QImage(w, h, QImage::Format_ARGB32);
  for (int y = 0; y < h; ++y) {
    auto* out = reinterpret_cast<QRgb*>(r.image.scanLine(y));
    for (int x = 0; x < w; ++x) out[x] = maskColor(r.cell(x, y), mask.n_heads, dark);
  }
  return r;
}

int maskHeads(const engine::BlockMask& mask, int q_block, int k_block) {
  if (q_block < 0 || q_block >= mask.n_q_blocks) return 0;
  const std::span<const int32_t> kv = mask.row(q_block);
  const auto it = std::lower_bound(kv.begin(), kv.end(), k_block);
  return it != kv.end() && *it == k_block ? int(mask.row_heads(q_block)[std::size_t(it - kv.begin())]) : 0;
}

QString describeTile(const engine::BlockMask& mask, int q_block, int k_block, int64_t n_tokens) {
  const auto range = [&](int b) {
    const int64_t first = int64_t(b) * mask.block;
    int64_t last = first + mask.block - 1;
    if (n_tokens > 0) last = std::min(last, n_tokens - 1);
    return QStringLiteral("%1–%2 (block %3)").arg(first).arg(last).arg(b);
  };
  const bool causal = k_block < mask.causal_end(q_block);
  return QObject::tr("q tokens %1 · k tokens %2 · %3")
      .arg(range(q_block), range(k_block),
           causal ? QObject::tr("heads %1/%2").arg(maskHeads(mask, q_block, k_block)).arg(mask.n_heads)
                  : QObject::tr("not causal"));
}

std::shared_ptr<const engine::BlockMask> reportLayerMask(const engine::RunReport& report, int layer,
                                                         int fallback_heads) {
  int n_heads = std::max(1, fallback_heads);
  for (const auto& l : report.layers)
    if (l.block_mask) n_heads = l.block_mask->n_heads;
  return engine::shared_layer_block_mask(report, layer, n_heads);
}

QImage maskThumbnail(const engine::BlockMask& mask, int size, bool dark) {
  const MaskRaster r = rasterizeMask(mask, fullRegion(mask), QSize(size, size), dark);
  if (r.isNull()) return {};
  // Opaque on the page colour (reports have no window behind them).
  QImage image(r.image.size(), QImage::Format_RGB32);
  image.fill(dark ? QColor(0x1e, 0x1e, 0x20) : QColor(Qt::white));
  QPainter(&image).drawImage(0, 0, r.image);
  // Few blocks: whole-pixel upscaling keeps the tiles sharp.
  const int factor = std::max(1, size / std::max(r.width, r.height));
  return factor > 1 ? image.scaled(r.width * factor, r.height * factor, Qt::IgnoreAspectRatio, Qt::FastTransformation)
                    : image;
}

}  // namespace flux::ui
