// The Comparison dock's baselines: "Compare with baselines…" and, per baseline of the run (comparison_baselines.h),
// one row with its SA layers, prefill and decode ms, pass / fail and output; random:match as mean ± spread over its
// seeds (each seed in the tooltip). Shows what EngineWorker::runBaselines reports, as it arrives.
#pragma once

#include <QWidget>

#include "ui/comparison_baselines.h"

class QLabel;
class QPushButton;
class QTableWidget;

namespace flux::ui {

// A baseline's name in the table: "previous router (NAME.safetensors)" / "file: NAME.json" for the file routes.
QString baselineLabel(const std::string& name);
// "13/30 SA" for a row / result.
QString saLayersText(int sa_layers, int n_layers);
// "12.3" or "12.3 ± 0.4" (more than one seed).
QString meanSpreadText(double mean, double spread, int seeds, int precision);
// "pass" / "fail" / "3/5 seeds (0.60 ± 0.55)" / "—" without an expected answer.
QString passText(const BaselineRow& row);

class BaselinesPanel : public QWidget {
  Q_OBJECT
 public:
  enum Column { ColRoute, ColSa, ColPrefill, ColDecode, ColPass, ColRouteRun, ColOutput, ColCount };

  explicit BaselinesPanel(QWidget* parent = nullptr);
  void begin(const BaselineResult& run, const std::string& answer, int total);
  void add(const BaselineResult& result);
  void end(bool cancelled, const QString& error);
  const BaselineRun& baselines() const { return baselines_; }
  bool hasBaselines() const { return shown_; }
  QTableWidget* table() const { return table_; }
  QLabel* status() const { return status_; }
  QPushButton* button() const { return button_; }

 signals:
  void baselinesRequested();
  void baselinesStarted();  // begin() was called: the view gives the panel room

 private:
  void fill();
  QPushButton* button_ = nullptr;
  QLabel* status_ = nullptr;
  QTableWidget* table_ = nullptr;
  BaselineRun baselines_;
  bool shown_ = false;
};

}  // namespace flux::ui
