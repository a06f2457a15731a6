// The Needle grid dock: one heatmap per route (rows = needle depth, columns = context; green = the answer was in the
// output, red = it was not, grey = not run), the cell's prefill time as its text and in its tooltip with the answer
// and the output, the route's pass count and SA fraction above it; a status line ("cell 3 of 8", "cancelled after
// 3 of 8 cells"), the saved grids of the runs folder to reopen and Export… (PNG / SVG of the same painting).
#pragma once

#include <QWidget>

#include "ui/needle_grid.h"

class QComboBox;
class QLabel;
class QPushButton;

namespace flux::ui {

class NeedleGridCanvas : public QWidget {
  Q_OBJECT
 public:
  explicit NeedleGridCanvas(QWidget* parent = nullptr);
  void setGrid(const NeedleGrid& grid);
  const NeedleGrid& grid() const { return grid_; }
  // Where the cell of route index r, depth row, context column is drawn (empty when out of range).
  QRect cellRect(int route, int row, int column) const;
  // The cell's colour and text as drawn; its tooltip.
  static QColor cellColor(const NeedleCell* cell);
  static QString cellText(const NeedleCell* cell);
  static QString cellToolTip(const NeedleCell& cell);
  // The line above a route's heatmap: "sa:streaming · 3/4 passed · SA 100 %".
  QString routeTitle(int route) const;
  QSize sizeHint() const override;

 protected:
  void paintEvent(QPaintEvent* event) override;
  bool event(QEvent* event) override;

 private:
  NeedleGrid grid_;
};

class NeedleGridView : public QWidget {
  Q_OBJECT
 public:
  explicit NeedleGridView(QWidget* parent = nullptr);
  // A grid starts: empty cells for its spec.
  void beginGrid(const NeedleGridSpec& spec);
  void addCell(int done, int total, const NeedleCell& cell);
  // A finished, cancelled or reopened grid; path: its file in the runs folder (empty: not saved).
  void showGrid(const NeedleGrid& grid, const QString& path);
  // The runs folder's grid files, newest first, in the "Saved grids" box.
  void setSavedGrids(const QStringList& paths);
  NeedleGridCanvas* canvas() const { return canvas_; }
  QLabel* statusLabel() const { return status_; }
  QComboBox* savedGrids() const { return saved_; }
  QPushButton* exportButton() const { return export_; }
  // Whether a grid (running, finished or reopened) is shown: then Export Report includes it.
  bool hasGrid() const;
  // The shown grid as a .png or .svg (the canvas's own painting); empty on success, else the error.
  QString exportPicture(const QString& path) const;

 signals:
  void openGridRequested(const QString& path);

 private:
  void exportDialog();
  QString summary(const NeedleGrid& grid) const;
  NeedleGridCanvas* canvas_ = nullptr;
  QLabel* status_ = nullptr;
  QComboBox* saved_ = nullptr;
  QPushButton* export_ = nullptr;
};

// "1K" for 1024, "300" for 300: a context's column header.
QString contextLabel(int tokens);

}  // namespace flux::ui
