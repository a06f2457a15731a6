#include "ui/needle_grid_view.h"

#include <QComboBox>
#include <QEvent>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QPainter>
#include <QPushButton>
#include <QScrollArea>
#include <QToolTip>
#include <QVBoxLayout>

namespace flux::ui {
namespace {

constexpr int kCellW = 84, kCellH = 30, kLabelW = 52, kTitleH = 50, kHeaderH = 18, kGap = 24, kMargin = 8;

}  // namespace

QString contextLabel(int tokens) {
  if (tokens >= 1024 && tokens % 1024 == 0) return QStringLiteral("%1K").arg(tokens / 1024);
  return QString::number(tokens);
}

NeedleGridCanvas::NeedleGridCanvas(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
}

void NeedleGridCanvas::setGrid(const NeedleGrid& grid) {
  grid_ = grid;
  updateGeometry();
  resize(sizeHint());
  update();
}

QSize NeedleGridCanvas::panelSize() const {
  return {kLabelW + kCellW * int(grid_.spec.contexts.size()),
          kTitleH + kHeaderH + kCellH * int(grid_.spec.depths.size())};
}

QPoint NeedleGridCanvas::panelOrigin(int route) const {
  // Panels side by side, wrapping to the next row when the widget is narrower than all of them.
  const QSize p = panelSize();
  const int per_row =
      std::max(1, (std::max(width(), p.width() + 2 * kMargin) - 2 * kMargin + kGap) / (p.width() + kGap));
  return {kMargin + (route % per_row) * (p.width() + kGap), kMargin + (route / per_row) * (p.height() + kGap)};
}

QSize NeedleGridCanvas::sizeHint() const {
  const int n = int(grid_.spec.routes.size());
  if (n == 0) return {200, 80};
  const QSize p = panelSize();
  const int per_row = std::max(1, std::min(n, 4));
  const int rows = (n + per_row - 1) / per_row;
  return {2 * kMargin + per_row * p.width() + (per_row - 1) * kGap,
          2 * kMargin + rows * p.height() + (rows - 1) * kGap};
}

QRect NeedleGridCanvas::cellRect(int route, int row, int column) const {
  if (route < 0 || route >= int(grid_.spec.routes.size()) || row < 0 || row >= int(grid_.spec.depths.size()) ||
      column < 0 || column >= int(grid_.spec.contexts.size()))
    return {};
  const QPoint o = panelOrigin(route);
  return {o.x() + kLabelW + column * kCellW, o.y() + kTitleH + kHeaderH + row * kCellH, kCellW - 2, kCellH - 2};
}

QColor NeedleGridCanvas::cellColor(const NeedleCell* cell) {
  if (!cell) return QColor(0x9e, 0x9e, 0x9e);  // not run (the grid was cancelled before it)
  return cell->passed ? QColor(0x2e, 0x9d, 0x5b) : QColor(0xd0, 0x45, 0x45);
}

QString NeedleGridCanvas::cellText(const NeedleCell* cell) {
  if (!cell) return QStringLiteral("—");
  return QObject::tr("%1 ms").arg(cell->prefill_ms, 0, 'f', cell->prefill_ms < 100 ? 1 : 0);
}

QString NeedleGridCanvas::cellToolTip(const NeedleCell& c) {
  QString out = QString::fromStdString(c.output).simplified();
  if (out.size() > 120) out = out.left(117) + QStringLiteral("…");
  return QObject::tr(
             "%1 · context %2 (prompt %3 tokens) · needle at %4 %\n%5: the answer “%6” %7 the output\n"
             "prefill %8 ms · SA %9 % of layers\noutput: %10")
      .arg(QString::fromStdString(c.route), contextLabel(c.context))
      .arg(c.prompt_tokens)
      .arg(c.depth)
      .arg(c.passed ? QObject::tr("pass") : QObject::tr("fail"), QString::fromStdString(c.answer),
           c.passed ? QObject::tr("is in") : QObject::tr("is not in"))
      .arg(c.prefill_ms, 0, 'f', 1)
      .arg(c.sa_fraction * 100.0, 0, 'f', 0)
      .arg(out.isEmpty() ? QObject::tr("(empty)") : out);
}

QString NeedleGridCanvas::routeTitle(int r) const {
  const std::string& route = grid_.spec.routes[std::size_t(r)];
  const int ran = grid_.ran(route);
  return tr("%1 · %2/%3 passed · SA %4 %")
      .arg(QString::fromStdString(route))
      .arg(grid_.passed(route))
      .arg(ran)
      .arg(ran > 0 ? grid_.saFraction(route) * 100.0 : 0.0, 0, 'f', 0);
}

void NeedleGridCanvas::paintEvent(QPaintEvent*) {
  QPainter p(this);
  p.setRenderHint(QPainter::Antialiasing, false);
  const QPalette& pal = palette();
  QFont small = font();
  small.setPointSizeF(std::max(7.0, font().pointSizeF() - 1));
  for (int r = 0; r < int(grid_.spec.routes.size()); ++r) {
    const QPoint o = panelOrigin(r);
    const std::string& route = grid_.spec.routes[std::size_t(r)];
    p.setPen(pal.color(QPalette::WindowText));
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    // Three lines: the route, its passes and SA fraction, the RouteSpec it ran (elided; the tooltip has it all).
    const int line = kTitleH / 3, w = panelSize().width();
    p.drawText(QRect(o.x(), o.y(), w, line), Qt::AlignLeft | Qt::AlignVCenter, QString::fromStdString(route));
    p.setFont(font());
    const int ran = grid_.ran(route);
    p.drawText(QRect(o.x(), o.y() + line, w, line), Qt::AlignLeft | Qt::AlignVCenter,
               tr("%1/%2 passed · SA %3 %")
                   .arg(grid_.passed(route))
                   .arg(ran)
                   .arg(ran > 0 ? grid_.saFraction(route) * 100.0 : 0.0, 0, 'f', 0));
    p.setFont(small);
    const QString spec = r < int(grid_.route_specs.size()) ? QString::fromStdString(grid_.route_specs[std::size_t(r)])
                                                           : QString();
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(QRect(o.x(), o.y() + 2 * line, w, line), Qt::AlignLeft | Qt::AlignVCenter,
               QFontMetrics(small).elidedText(tr("route: %1").arg(spec), Qt::ElideRight, w));
    p.setPen(pal.color(QPalette::WindowText));
    for (int c = 0; c < int(grid_.spec.contexts.size()); ++c)
      p.drawText(QRect(o.x() + kLabelW + c * kCellW, o.y() + kTitleH, kCellW, kHeaderH), Qt::AlignCenter,
                 contextLabel(grid_.spec.contexts[std::size_t(c)]));
    for (int d = 0; d < int(grid_.spec.depths.size()); ++d) {
      p.setPen(pal.color(QPalette::WindowText));
      p.drawText(QRect(o.x(), o.y() + kTitleH + kHeaderH + d * kCellH, kLabelW - 6, kCellH),
                 Qt::AlignRight | Qt::AlignVCenter, tr("%1 %").arg(grid_.spec.depths[std::size_t(d)]));
      for (int c = 0; c < int(grid_.spec.contexts.size()); ++c) {
        const NeedleCell* cell =
            grid_.cell(route, grid_.spec.contexts[std::size_t(c)], grid_.spec.depths[std::size_t(d)]);
        const QRect rect = cellRect(r, d, c);
        p.fillRect(rect, cellColor(cell));
        p.setPen(Qt::white);
        p.drawText(rect, Qt::AlignCenter, cellText(cell));
      }
    }
  }
  if (grid_.spec.routes.empty()) {
    p.setPen(pal.color(QPalette::PlaceholderText));
    p.drawText(rect(), Qt::AlignCenter, tr("Tools → Needle Sweep… runs a grid"));
  }
}

bool NeedleGridCanvas::event(QEvent* event) {
  if (event->type() == QEvent::ToolTip) {
    const QPoint pos = static_cast<QHelpEvent*>(event)->pos();
    for (int r = 0; r < int(grid_.spec.routes.size()); ++r)
      for (int d = 0; d < int(grid_.spec.depths.size()); ++d)
        for (int c = 0; c < int(grid_.spec.contexts.size()); ++c) {
          if (!cellRect(r, d, c).contains(pos)) continue;
          const NeedleCell* cell = grid_.cell(grid_.spec.routes[std::size_t(r)], grid_.spec.contexts[std::size_t(c)],
                                              grid_.spec.depths[std::size_t(d)]);
          QToolTip::showText(static_cast<QHelpEvent*>(event)->globalPos(), cell ? cellToolTip(*cell) : tr("not run"),
                             this);
          return true;
        }
    QToolTip::hideText();
    event->ignore();
    return true;
  }
  return QWidget::event(event);
}

NeedleGridView::NeedleGridView(QWidget* parent) : QWidget(parent) {
  canvas_ = new NeedleGridCanvas();
  status_ = new QLabel(tr("No needle grid yet: Tools → Needle Sweep… runs one"));
  status_->setWordWrap(true);
  saved_ = new QComboBox();
  saved_->setToolTip(tr("Needle grids saved in the runs folder"));
  saved_->setMinimumContentsLength(28);
  auto* open = new QPushButton(tr("Open"));
  open->setToolTip(tr("Show the grid picked on the left"));
  connect(open, &QPushButton::clicked, this, [this] {
    if (saved_->currentIndex() >= 0) emit openGridRequested(saved_->currentData().toString());
  });
  auto* top = new QHBoxLayout();
  top->addWidget(status_, 1);
  top->addWidget(new QLabel(tr("Saved grids:")));
  top->addWidget(saved_);
  top->addWidget(open);
  auto* scroll = new QScrollArea();
  scroll->setWidget(canvas_);
  scroll->setWidgetResizable(true);
  scroll->setFrameShape(QFrame::NoFrame);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addLayout(top);
  layout->addWidget(scroll, 1);
}

void NeedleGridView::beginGrid(const NeedleGridSpec& spec) {
  NeedleGrid empty;
  empty.spec = spec;
  canvas_->setGrid(empty);
  status_->setText(tr("Needle grid: cell 0 of %1…").arg(spec.cellCount()));
}

void NeedleGridView::addCell(int done, int total, const NeedleCell& cell) {
  NeedleGrid g = canvas_->grid();
  g.cells.push_back(cell);
  canvas_->setGrid(g);
  status_->setText(tr("Needle grid: cell %1 of %2 done").arg(done).arg(total));
}

QString NeedleGridView::summary(const NeedleGrid& g) const {
  int passed = 0;
  for (const NeedleCell& c : g.cells) passed += c.passed;
  QString head = tr("%1 · %2 · %3 cells, %4 passed")
                     .arg(QString::fromStdString(g.model_name), QString::fromStdString(g.started_at))
                     .arg(g.cells.size())
                     .arg(passed);
  if (g.cancelled) head += tr(" · cancelled after %1 of %2 cells").arg(g.cells.size()).arg(g.spec.cellCount());
  if (!g.error.empty()) head += tr(" · stopped: %1").arg(QString::fromStdString(g.error));
  return head + tr(" · %1 new tokens per cell").arg(g.spec.max_new_tokens);
}

void NeedleGridView::showGrid(const NeedleGrid& grid, const QString& path) {
  canvas_->setGrid(grid);
  status_->setText(summary(grid));
  status_->setToolTip(path.isEmpty() ? tr("not saved") : tr("saved as %1").arg(path));
}

void NeedleGridView::setSavedGrids(const QStringList& paths) {
  const QSignalBlocker block(saved_);
  saved_->clear();
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) saved_->addItem(QFileInfo(*it).fileName(), *it);
}

}  // namespace flux::ui
