#include "ui/needle_grid_view.h"

#include <QComboBox>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHelpEvent>
#include <QLabel>
#include <QMessageBox>
#include <QPainter>
#include <QPushButton>
#include <QScrollArea>
#include <QToolTip>
#include <QVBoxLayout>

#include "ui/needle_grid_picture.h"
#include "ui/plain_message.h"

namespace flux::ui {

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

QSize NeedleGridCanvas::sizeHint() const {
  return NeedleGridLayout::naturalSize(grid_);
}

QRect NeedleGridCanvas::cellRect(int route, int row, int column) const {
  return NeedleGridLayout{grid_, width()}.cellRect(route, row, column);
}

QColor NeedleGridCanvas::cellColor(const NeedleCell* cell) {
  return needleCellColor(cell);
}

QString NeedleGridCanvas::cellText(const NeedleCell* cell) {
  return needleCellText(cell);
}

QString NeedleGridCanvas::cellToolTip(const NeedleCell& c) {
  QString out = QString::fromStdString(c.output).simplified();
  if (out.size() > 120) out = out.left(117) + QStringLiteral("…");
  return QObject::tr(
             "%1 · context %2 (prompt %3 tokens) · needle at %4 %\n%5: the answer “%6” %7 the output\n"
             "prefill %8 ms · SA %9 % of layers\noutput: %10%11")
      .arg(QString::fromStdString(c.route), contextLabel(c.context))
      .arg(c.prompt_tokens)
      .arg(c.depth)
      .arg(c.passed ? QObject::tr("pass") : QObject::tr("fail"), QString::fromStdString(c.answer),
           c.passed ? QObject::tr("is in") : QObject::tr("is not in"))
      .arg(c.prefill_ms, 0, 'f', 1)
      .arg(c.sa_fraction * 100.0, 0, 'f', 0)
      .arg(out.isEmpty() ? QObject::tr("(empty)") : out,
           c.route_spec.empty() ? QString() : QObject::tr("\nroute: %1").arg(QString::fromStdString(c.route_spec)));
}

QString NeedleGridCanvas::routeTitle(int r) const {
  const std::string& route = grid_.spec.routes[std::size_t(r)];
  return tr("%1 · %2").arg(QString::fromStdString(route), needleRouteSummary(grid_, route));
}

void NeedleGridCanvas::paintEvent(QPaintEvent*) {
  QPainter p(this);
  paintNeedleGrid(p, grid_, width(), palette(), font());
  if (grid_.spec.routes.empty()) {
    p.setPen(palette().color(QPalette::PlaceholderText));
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
          QStringList tips;  // one per cell there (random:match: one per seed)
          for (const NeedleCell* cell : grid_.cellsAt(grid_.spec.routes[std::size_t(r)],
                                                      grid_.spec.contexts[std::size_t(c)],
                                                      grid_.spec.depths[std::size_t(d)]))
            tips << (cell->seed > 0 ? tr("seed %1: ").arg(cell->seed) : QString()) + cellToolTip(*cell);
          QToolTip::showText(static_cast<QHelpEvent*>(event)->globalPos(),
                             tips.isEmpty() ? tr("not run") : tips.join(QStringLiteral("\n\n")), this);
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
  export_ = new QPushButton(tr("Export…"));
  export_->setToolTip(tr("Save the grid as a PNG or SVG picture (Export Report adds it to HTML and PDF reports)"));
  export_->setEnabled(false);
  connect(export_, &QPushButton::clicked, this, &NeedleGridView::exportDialog);
  auto* top = new QHBoxLayout();
  top->addWidget(status_, 1);
  top->addWidget(export_);
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

bool NeedleGridView::hasGrid() const {
  return !canvas_->grid().spec.routes.empty();
}

QString NeedleGridView::exportPicture(const QString& path) const {
  if (!hasGrid()) return tr("There is no needle grid to export yet.");
  return exportNeedleGridPicture(canvas_->grid(), path, canvas_->palette(), canvas_->font());
}

void NeedleGridView::exportDialog() {
  QString filter;
  QString path = QFileDialog::getSaveFileName(this, tr("Export Needle Grid"), QStringLiteral("needle-grid.png"),
                                              tr("PNG (*.png);;SVG (*.svg)"), &filter);
  if (path.isEmpty()) return;
  if (QFileInfo(path).suffix().isEmpty()) path += filter.startsWith(QStringLiteral("SVG")) ? ".svg" : ".png";
  const QString error = exportPicture(path);
  if (!error.isEmpty()) criticalPlain(this, tr("Export Needle Grid"), error);
}

void NeedleGridView::beginGrid(const NeedleGridSpec& spec) {
  NeedleGrid empty;
  empty.spec = spec;
  canvas_->setGrid(empty);
  export_->setEnabled(true);
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
  export_->setEnabled(hasGrid());
  status_->setText(summary(grid));
  status_->setToolTip(path.isEmpty() ? tr("not saved") : tr("saved as %1").arg(path));
}

void NeedleGridView::setSavedGrids(const QStringList& paths) {
  const QSignalBlocker block(saved_);
  saved_->clear();
  for (auto it = paths.rbegin(); it != paths.rend(); ++it) saved_->addItem(QFileInfo(*it).fileName(), *it);
}

}  // namespace flux::ui
