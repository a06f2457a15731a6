// The attention heatmap's model: a BlockMask (query block x key block tiles, how many heads computed each) turned
// into pixels. One pixel per block, or, when the target is smaller than the region, each pixel is the max over the
// blocks it covers, so a computed tile never disappears when zoomed out. Pure functions, safe on any thread (the
// heatmap rasterises off the GUI thread); the cost is O(listed blocks in the region + pixels), never O(tokens^2).
#pragma once

#include <QImage>
#include <QSize>
#include <QString>

#include <functional>
#include <vector>

#include "engine/attention/block_mask.h"
#include "engine/runtime/run_report.h"

namespace flux::ui {

// Half-open block ranges: query blocks [q0, q1) are the rows (y), key blocks [k0, k1) the columns (x).
struct MaskRegion {
  int q0 = 0, q1 = 0, k0 = 0, k1 = 0;
  int rows() const { return q1 - q0; }
  int cols() const { return k1 - k0; }
  bool operator==(const MaskRegion&) const = default;
};
MaskRegion fullRegion(const engine::BlockMask& mask);

// Cell values: kNotCausal (no causal tile under the pixel), 0 (causal, not computed), h > 0 (max heads that computed
// a tile under the pixel).
inline constexpr int kNotCausal = -1;

struct MaskRaster {
  MaskRegion region;
  int width = 0;   // pixels: min(region.cols(), requested width)
  int height = 0;  // pixels: min(region.rows(), requested height)
  int n_heads = 1;
  std::vector<int> cells;  // height x width, row-major
  QImage image;            // the cells coloured (maskColor), ARGB32
  int cell(int x, int y) const { return cells[std::size_t(y) * std::size_t(width) + std::size_t(x)]; }
  bool isNull() const { return width == 0 || height == 0; }
};

// Rasterises `region` (clamped to the mask) into at most `max_pixels`, coloured for the light or dark palette.
// `cancelled` is polled every few rows (a newer request supersedes this one): then the returned raster is null.
MaskRaster rasterizeMask(const engine::BlockMask& mask, MaskRegion region, QSize max_pixels, bool dark = false,
                         const std::function<bool()>& cancelled = {});
// Colour of a cell value: transparent for kNotCausal, grey for not computed, light to dark red by heads / n_heads.
QRgb maskColor(int value, int n_heads, bool dark);
// How many heads computed tile (q_block, k_block); 0 when not listed.
int maskHeads(const engine::BlockMask& mask, int q_block, int k_block);
// "q tokens 128–255 (block 1) · k tokens 0–127 (block 0) · heads 9/9" (n_tokens > 0 clips the last block).
QString describeTile(const engine::BlockMask& mask, int q_block, int k_block, int64_t n_tokens);
// The mask `layer` of `report` ran (engine::layer_block_mask); static masks are counted out of the head count of
// the report's recorded masks when it has any (a report does not carry the model's head count), else out of
// `fallback_heads` (the loaded model's, in the app); a recorded mask is the report's own, not a copy. Throws
// engine::Error like layer_block_mask.
std::shared_ptr<const engine::BlockMask> reportLayerMask(const engine::RunReport& report, int layer,
                                                         int fallback_heads = 1);
// The whole mask in a size x size square at most (max-downsampled), for reports' small multiples.
QImage maskThumbnail(const engine::BlockMask& mask, int size, bool dark = false);

}  // namespace flux::ui
