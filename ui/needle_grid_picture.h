// The needle grid as a picture: one painting function (paintNeedleGrid) that the Needle grid dock's canvas, the
// PNG and SVG exports and the HTML/PDF report all use, so what is exported is what is shown. The layout is a pure
// function of the grid and the width: one panel per route (its name, pass count, SA fraction and route text above a
// depth x context heatmap), side by side, wrapping when narrower than all of them.
#pragma once

#include <QByteArray>
#include <QColor>
#include <QFont>
#include <QImage>
#include <QPalette>
#include <QRect>
#include <QString>

#include "ui/needle_grid.h"

class QPainter;

namespace flux::ui {

// Where things go for `grid` drawn `width` pixels wide.
struct NeedleGridLayout {
  const NeedleGrid& grid;
  int width;
  QSize panelSize() const;
  QPoint panelOrigin(int route) const;
  // The cell of route index r, depth row, context column (empty when out of range).
  QRect cellRect(int route, int row, int column) const;
  // The natural size: up to four panels a row.
  static QSize naturalSize(const NeedleGrid& grid);
};

// A cell's colour (green passed, red failed, grey not run) and text (its prefill time).
QColor needleCellColor(const NeedleCell* cell);
QString needleCellText(const NeedleCell* cell);
// Several cells in one place (random:match's seeds): red to green by the share that passed, "2/3 seeds"; one cell
// (or none) as above.
QColor needleCellsColor(const std::vector<const NeedleCell*>& cells);
QString needleCellsText(const std::vector<const NeedleCell*>& cells);
// A route's name as drawn: the file name for file: and router-file: routes.
QString needleRouteLabel(const std::string& route);
// "3/4 passed · SA 100 %" for a route's panel; random:match adds the seeds' mean ± spread of passes.
QString needleRouteSummary(const NeedleGrid& grid, const std::string& route);

// Paints the grid `width` wide with the palette's text colours onto a painter that is already set up; draws no
// background (the widget's is there; the exports fill their own).
void paintNeedleGrid(QPainter& p, const NeedleGrid& grid, int width, const QPalette& palette, const QFont& font);

// The grid at its natural size on the palette's window colour.
QImage needleGridImage(const NeedleGrid& grid, const QPalette& palette = {}, const QFont& font = {});
// The same painting as SVG (QSvgGenerator): one <rect> per cell, the texts as <text>.
QByteArray needleGridSvg(const NeedleGrid& grid, const QPalette& palette = {}, const QFont& font = {});
// Writes a .png or .svg by the extension; empty on success, else a message naming the path.
QString exportNeedleGridPicture(const NeedleGrid& grid, const QString& path, const QPalette& palette = {},
                                const QFont& font = {});

}  // namespace flux::ui
