// The "Attention map" dock: a layer picker, the heatmap of the block mask the picked layer ran (BlockMaskView, from
// engine::layer_block_mask of the shown report) and a bar chart of every layer's attention density (bars coloured
// by mode; click one to pick that layer). Export writes the heatmap as PNG or SVG.
#pragma once

#include <QWidget>

#include <memory>

#include "engine/runtime/run_report.h"

class QBarSet;
class QBoxLayout;
class QChartView;
class QComboBox;
class QLabel;
class QPushButton;
class QValueAxis;

namespace flux::ui {

class BlockMaskView;

class AttentionMapPanel : public QWidget {
  Q_OBJECT
 public:
  explicit AttentionMapPanel(QWidget* parent = nullptr);

  void beginRun();
  void showReport(const engine::RunReport& report);
  // Shows layer `layer`'s mask (ignored when out of range or no report is shown).
  void selectLayer(int layer);
  int layer() const { return layer_; }
  // The loaded model's attention heads: static masks (streaming, triangle, FA) count every head of a listed tile.
  void setModelHeads(int n_heads);

  BlockMaskView* view() const { return view_; }
  QComboBox* layerPicker() const { return picker_; }
  // The density bars as plotted: one value per layer (the layer's own set; the other mode's set is 0 there).
  QList<double> densityValues() const;
  QChartView* densityChart() const { return chart_view_; }
  void setDark(bool dark);
  // PNG or SVG by the extension; the error message, empty on success.
  QString exportHeatmap(const QString& path);

 signals:
  void layerSelected(int layer);

 protected:
  void resizeEvent(QResizeEvent* event) override;

 private:
  void exportDialog();

  std::shared_ptr<const engine::RunReport> report_;
  int layer_ = -1;
  int model_heads_ = 1;
  QComboBox* picker_ = nullptr;
  QPushButton* export_ = nullptr;
  QLabel* hover_ = nullptr;
  BlockMaskView* view_ = nullptr;
  QChartView* chart_view_ = nullptr;
  QBarSet* fa_ = nullptr;
  QBarSet* sa_ = nullptr;
  QValueAxis* layer_axis_ = nullptr;
  QBoxLayout* body_ = nullptr;
};

}  // namespace flux::ui
