#include "ui/needle_grid_picture.h"

#include <QBuffer>
#include <QFile>
#include <QFileInfo>
#include <QFontMetrics>
#include <QObject>
#include <QPainter>
#include <QSvgGenerator>

#include <algorithm>

#include "ui/needle_grid_view.h"

namespace flux::ui {
namespace {

constexpr int kCellW = 84, kCellH = 30, kLabelW = 52, kTitleH = 50, kHeaderH = 18, kGap = 24, kMargin = 8;
constexpr int kPanelsPerRow = 4, kMinPanelW = 320;  // room for the title lines of a narrow grid

}  // namespace

QSize NeedleGridLayout::panelSize() const {
  return {std::max(kMinPanelW, kLabelW + kCellW * int(grid.spec.contexts.size())),
          kTitleH + kHeaderH + kCellH * int(grid.spec.depths.size())};
}

QPoint NeedleGridLayout::panelOrigin(int route) const {
  const QSize p = panelSize();
  const int per_row =
      std::max(1, (std::max(width, p.width() + 2 * kMargin) - 2 * kMargin + kGap) / (p.width() + kGap));
  return {kMargin + (route % per_row) * (p.width() + kGap), kMargin + (route / per_row) * (p.height() + kGap)};
}

QRect NeedleGridLayout::cellRect(int route, int row, int column) const {
  if (route < 0 || route >= int(grid.spec.routes.size()) || row < 0 || row >= int(grid.spec.depths.size()) ||
      column < 0 || column >= int(grid.spec.contexts.size()))
    return {};
  const QPoint o = panelOrigin(route);
  return {o.x() + kLabelW + column * kCellW, o.y() + kTitleH + kHeaderH + row * kCellH, kCellW - 2, kCellH - 2};
}

QSize NeedleGridLayout::naturalSize(const NeedleGrid& grid) {
  const int n = int(grid.spec.routes.size());
  if (n == 0) return {200, 80};
  const QSize p = NeedleGridLayout{grid, 0}.panelSize();
  const int per_row = std::max(1, std::min(n, kPanelsPerRow));
  const int rows = (n + per_row - 1) / per_row;
  return {2 * kMargin + per_row * p.width() + (per_row - 1) * kGap,
          2 * kMargin + rows * p.height() + (rows - 1) * kGap};
}

QColor needleCellColor(const NeedleCell* cell) {
  if (!cell) return QColor(0x9e, 0x9e, 0x9e);  // not run (the grid was cancelled before it)
  return cell->passed ? QColor(0x2e, 0x9d, 0x5b) : QColor(0xd0, 0x45, 0x45);
}

QString needleCellText(const NeedleCell* cell) {
  if (!cell) return QStringLiteral("—");
  return QObject::tr("%1 ms").arg(cell->prefill_ms, 0, 'f', cell->prefill_ms < 100 ? 1 : 0);
}

QColor needleCellsColor(const std::vector<const NeedleCell*>& cells) {
  if (cells.size() <= 1) return needleCellColor(cells.empty() ? nullptr : cells.front());
  int passed = 0;
  for (const NeedleCell* c : cells) passed += c->passed;
  // Red to green by the share of seeds that passed.
  const double t = double(passed) / double(cells.size());
  const QColor pass(0x2e, 0x9d, 0x5b), red(0xd0, 0x45, 0x45);  // needleCellColor's
  return QColor::fromRgbF(float(red.redF() + t * (pass.redF() - red.redF())),
                          float(red.greenF() + t * (pass.greenF() - red.greenF())),
                          float(red.blueF() + t * (pass.blueF() - red.blueF())));
}

QString needleCellsText(const std::vector<const NeedleCell*>& cells) {
  if (cells.size() <= 1) return needleCellText(cells.empty() ? nullptr : cells.front());
  int passed = 0;
  for (const NeedleCell* c : cells) passed += c->passed;
  return QObject::tr("%1/%2 seeds").arg(passed).arg(cells.size());
}

QString needleRouteLabel(const std::string& route) {
  for (const char* prefix : {"file:", "router-file:"}) {
    const std::string_view p(prefix);
    if (route.starts_with(p))
      return QStringLiteral("%1 %2").arg(p == "file:" ? QObject::tr("route file") : QObject::tr("router file"),
                                         QFileInfo(QString::fromStdString(route.substr(p.size()))).fileName());
  }
  return QString::fromStdString(route);
}

QString needleRouteSummary(const NeedleGrid& grid, const std::string& route) {
  const int ran = grid.ran(route);
  QString seeds;
  if (route == "random:match" && ran > 0) {
    const NeedleGrid::SeedSpread s = grid.seedSpread(route);
    seeds = QObject::tr(" · %1 ± %2 per seed (%3)").arg(s.mean, 0, 'f', 1).arg(s.spread, 0, 'f', 1).arg(s.seeds);
  }
  return QObject::tr("%1/%2 passed%3 · SA %4 %")
      .arg(grid.passed(route))
      .arg(ran)
      .arg(seeds)
      .arg(ran > 0 ? grid.saFraction(route) * 100.0 : 0.0, 0, 'f', 0);
}

void paintNeedleGrid(QPainter& p, const NeedleGrid& grid, int width, const QPalette& pal, const QFont& font) {
  const NeedleGridLayout layout{grid, width};
  p.setRenderHint(QPainter::Antialiasing, false);
  QFont small = font;
  small.setPointSizeF(std::max(7.0, font.pointSizeF() - 1));
  QFont bold = font;
  bold.setBold(true);
  const int line = kTitleH / 3, w = layout.panelSize().width();
  for (int r = 0; r < int(grid.spec.routes.size()); ++r) {
    const QPoint o = layout.panelOrigin(r);
    const std::string& route = grid.spec.routes[std::size_t(r)];
    // Three lines: the route, its passes and SA fraction, the RouteSpec it ran (elided; the tooltip has it all).
    p.setPen(pal.color(QPalette::WindowText));
    p.setFont(bold);
    p.drawText(QRect(o.x(), o.y(), w, line), Qt::AlignLeft | Qt::AlignVCenter,
               QFontMetrics(bold).elidedText(needleRouteLabel(route), Qt::ElideMiddle, w));
    p.setFont(font);
    p.drawText(QRect(o.x(), o.y() + line, w, line), Qt::AlignLeft | Qt::AlignVCenter,
               QFontMetrics(font).elidedText(needleRouteSummary(grid, route), Qt::ElideRight, w));
    p.setFont(small);
    const QString spec =
        r < int(grid.route_specs.size()) ? QString::fromStdString(grid.route_specs[std::size_t(r)]) : QString();
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRect(o.x(), o.y() + 2 * line, w, line), Qt::AlignLeft | Qt::AlignVCenter,
               QFontMetrics(small).elidedText(QObject::tr("route: %1").arg(spec), Qt::ElideRight, w));
    p.setFont(font);
    p.setPen(pal.color(QPalette::WindowText));
    for (int c = 0; c < int(grid.spec.contexts.size()); ++c)
      p.drawText(QRect(o.x() + kLabelW + c * kCellW, o.y() + kTitleH, kCellW, kHeaderH), Qt::AlignCenter,
                 contextLabel(grid.spec.contexts[std::size_t(c)]));
    for (int d = 0; d < int(grid.spec.depths.size()); ++d) {
      p.setPen(pal.color(QPalette::WindowText));
      p.drawText(QRect(o.x(), o.y() + kTitleH + kHeaderH + d * kCellH, kLabelW - 6, kCellH),
                 Qt::AlignRight | Qt::AlignVCenter, QObject::tr("%1 %").arg(grid.spec.depths[std::size_t(d)]));
      for (int c = 0; c < int(grid.spec.contexts.size()); ++c) {
        const std::vector<const NeedleCell*> cells =
            grid.cellsAt(route, grid.spec.contexts[std::size_t(c)], grid.spec.depths[std::size_t(d)]);
        const QRect rect = layout.cellRect(r, d, c);
        p.fillRect(rect, needleCellsColor(cells));
        p.setPen(Qt::white);
        p.drawText(rect, Qt::AlignCenter, needleCellsText(cells));
      }
    }
  }
}

QImage needleGridImage(const NeedleGrid& grid, const QPalette& palette, const QFont& font) {
  const QSize size = NeedleGridLayout::naturalSize(grid);
  QImage image(size, QImage::Format_RGB32);
  image.fill(palette.color(QPalette::Window));
  QPainter p(&image);
  paintNeedleGrid(p, grid, size.width(), palette, font);
  return image;
}

QByteArray needleGridSvg(const NeedleGrid& grid, const QPalette& palette, const QFont& font) {
  const QSize size = NeedleGridLayout::naturalSize(grid);
  QByteArray svg;
  QBuffer buffer(&svg);
  buffer.open(QIODevice::WriteOnly);
  QSvgGenerator generator;
  generator.setOutputDevice(&buffer);
  generator.setSize(size);
  generator.setViewBox(QRect(QPoint(0, 0), size));
  generator.setTitle(QObject::tr("FluxScope needle grid — %1").arg(QString::fromStdString(grid.model_name)));
  {
    QPainter p(&generator);
    paintNeedleGrid(p, grid, size.width(), palette, font);
  }
  return svg;
}

QString exportNeedleGridPicture(const NeedleGrid& grid, const QString& path, const QPalette& palette,
                                const QFont& font) {
  const QString ext = QFileInfo(path).suffix().toLower();
  if (ext == QStringLiteral("png")) {
    // PNG quality 0 = zlib level 9: pictures committed to the docs stay small.
    if (!needleGridImage(grid, palette, font).save(path, "PNG", 0))
      return QObject::tr("Cannot write %1").arg(path);
    return {};
  }
  if (ext != QStringLiteral("svg"))
    return QObject::tr("Cannot export the needle grid to %1: use a .png or .svg file name").arg(path);
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate))
    return QObject::tr("Cannot write %1: %2").arg(path, f.errorString());
  if (f.write(needleGridSvg(grid, palette, font)) < 0 || !f.flush())
    return QObject::tr("Cannot write %1: %2").arg(path, f.errorString());
  return {};
}

}  // namespace flux::ui
