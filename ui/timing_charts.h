// Timing plots of a run (Qt Charts): prefill ms per layer as stacked bars (the attention op's own time coloured by
// mode FA/SA, then the router's time, then the rest of the layer: GEMMs, MLP, norms), decode ms per token as a line and the cumulative time since the run started
// (right axis), both updated live in batches; headline numbers; zoom/pan; export as PNG (grab) and SVG.
#pragma once

#include <QList>
#include <QPointF>
#include <QWidget>

#include "engine/runtime/run_report.h"

class QBarSet;
class QBoxLayout;
class QLabel;
class QLineSeries;
class QTimer;
class QValueAxis;

namespace flux::ui {

class ZoomableChartView;

class TimingCharts : public QWidget {
  Q_OBJECT
 public:
  explicit TimingCharts(QWidget* parent = nullptr);

  void beginRun(int n_layers);
  void addLayer(const engine::LayerReport& layer);
  void addToken(int index, const engine::TokenReport& token);
  // Replaces everything with a finished report (also used to show a run from the history).
  void showReport(const engine::RunReport& report);

  // Data as plotted, for tests and exports, one value per layer. attentionValues: the attention op's ms in the set
  // of the layer's mode (0 in the other mode's set); routerValues: the router's ms; restValues: the rest of the
  // layer (prefill - attention - router). prefillValues: the layer's time without the router's (attention + rest).
  // A report without attention times (schema 2) shows the whole layer as its mode's part.
  QList<double> attentionValues(engine::LayerMode mode) const;
  QList<double> routerValues() const;
  QList<double> restValues() const;
  QList<double> prefillValues(engine::LayerMode mode) const;
  // Cumulative ms since the run started after each token (token 0: the TTFT, which includes the prefill).
  QList<QPointF> cumulativePoints();
  // Decode points (token index, ms) for tokens 1..n-1; token 0's time is the TTFT, shown in the headline.
  QList<QPointF> decodePoints();
  QString headline() const;
  ZoomableChartView* prefillView() const { return prefill_view_; }
  ZoomableChartView* decodeView() const { return decode_view_; }
  // Dark chart theme for the dark palette.
  void setDark(bool dark);

  bool exportPng(const QString& path);
  QByteArray toSvg();
  bool exportSvg(const QString& path);

 protected:
  // Charts side by side when the dock is wide (bottom), stacked when it is tall (side).
  void resizeEvent(QResizeEvent* event) override;

 private:
  void flushTokens();

  QLabel* headline_ = nullptr;
  QBoxLayout* charts_layout_ = nullptr;
  ZoomableChartView* prefill_view_ = nullptr;
  ZoomableChartView* decode_view_ = nullptr;
  QBarSet* fa_ = nullptr;
  QBarSet* sa_ = nullptr;
  QBarSet* router_ = nullptr;
  QBarSet* rest_ = nullptr;
  QList<engine::LayerMode> layer_modes_;  // what each layer ran (prefillValues)
  QValueAxis* layer_axis_ = nullptr;
  QValueAxis* prefill_y_ = nullptr;
  QLineSeries* decode_ = nullptr;
  QValueAxis* decode_x_ = nullptr;
  QValueAxis* decode_y_ = nullptr;
  QLineSeries* cumulative_ = nullptr;
  QValueAxis* cumulative_y_ = nullptr;
  QTimer* flush_timer_ = nullptr;
  QList<QPointF> points_;  // all decode points of the current run; the series is replaced from it in batches
  QList<QPointF> cumulative_points_;
  double elapsed_ms_ = 0.0;
  bool dirty_ = false;
  double prefill_max_ = 0.0;
};

}  // namespace flux::ui
