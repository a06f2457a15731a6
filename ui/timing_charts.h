// Timing plots of a run (Qt Charts): prefill ms per layer as bars coloured by mode (FA/SA sets, also in the legend),
// decode ms per token as a line updated live in batches, headline numbers; export as PNG (grab) and SVG.
#pragma once

#include <QList>
#include <QPointF>
#include <QWidget>

#include "engine/runtime/run_report.h"

class QBarSet;
class QChartView;
class QLabel;
class QLineSeries;
class QTimer;
class QValueAxis;

namespace flux::ui {

class TimingCharts : public QWidget {
  Q_OBJECT
 public:
  explicit TimingCharts(QWidget* parent = nullptr);

  void beginRun(int n_layers);
  void addLayer(const engine::LayerReport& layer);
  void addToken(int index, const engine::TokenReport& token);
  // Replaces everything with a finished report (also used to show a run from the history).
  void showReport(const engine::RunReport& report);

  // Data as plotted, for tests and exports. Prefill: one value per layer (0 in the other mode's set).
  QList<double> prefillValues(engine::LayerMode mode) const;
  // Decode points (token index, ms) for tokens 1..n-1; token 0's time is the TTFT, shown in the headline.
  QList<QPointF> decodePoints();
  QString headline() const;

  bool exportPng(const QString& path);
  QByteArray toSvg();
  bool exportSvg(const QString& path);

 private:
  void flushTokens();
  void setLayerValue(int index, engine::LayerMode mode, double ms);

  QLabel* headline_ = nullptr;
  QChartView* prefill_view_ = nullptr;
  QChartView* decode_view_ = nullptr;
  QBarSet* fa_ = nullptr;
  QBarSet* sa_ = nullptr;
  QValueAxis* layer_axis_ = nullptr;
  QValueAxis* prefill_y_ = nullptr;
  QLineSeries* decode_ = nullptr;
  QValueAxis* decode_x_ = nullptr;
  QValueAxis* decode_y_ = nullptr;
  QTimer* flush_timer_ = nullptr;
  QList<QPointF> points_;  // all decode points of the current run; the series is replaced from it in batches
  bool dirty_ = false;
  double prefill_max_ = 0.0;
};

}  // namespace flux::ui
