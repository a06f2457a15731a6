// Shows a RunComparison of two history entries: what makes them not comparable (in words) and only the speedups
// that mean something, per-layer deltas of the medians with their noise verdict and plan differences, a per-layer
// delta chart (whole layer and attention only) and a word diff of the two outputs; below them the baselines of one
// run (comparison_baselines_panel.h).
#pragma once

#include <QWidget>

#include "engine/runtime/run_report.h"
#include "ui/run_comparison.h"
#include "ui/run_entry.h"

class QBarSet;
class QLabel;
class QSplitter;
class QTextBrowser;
class QTableWidget;
class QValueAxis;

namespace flux::ui {

class BaselinesPanel;
class ZoomableChartView;

// "Not comparable: prompt tokens: 46 vs 1832 — no prefill, decode or total speedup" (empty when fully comparable),
// and the notes on what the speedups are (medians, normalised per token).
QString comparabilityText(const RunComparison& c);
// "×1.23" or "— (not comparable)" / "—" when there is nothing to divide.
QString speedupText(double speedup, bool comparable);

class ComparisonView : public QWidget {
  Q_OBJECT
 public:
  enum Column { ColLayer, ColA, ColB, ColPlan, ColMsA, ColMsB, ColDelta, ColSpeedup, ColNoise, ColAttnDelta, ColCount };

  explicit ComparisonView(QWidget* parent = nullptr);
  void compare(const RunEntry& a, const RunEntry& b);
  void compare(const engine::RunReport& a, const engine::RunReport& b);
  const RunComparison& current() const { return current_; }
  bool hasComparison() const { return has_; }
  const RunEntry& entryA() const { return a_; }
  const RunEntry& entryB() const { return b_; }
  const engine::RunReport& runA() const { return a_.shown(); }
  const engine::RunReport& runB() const { return b_.shown(); }
  QTableWidget* table() const { return table_; }
  QTextBrowser* diffView() const { return diff_; }
  ZoomableChartView* deltaChart() const { return chart_view_; }
  // "Compare with baselines…" and the baselines of one run (issue 16 point 3).
  BaselinesPanel* baselines() const { return baselines_; }
  // The plotted per-layer deltas (B − A ms): whole layer and attention only.
  QList<double> deltaValues(bool attention_only) const;
  QString summaryText() const;

 private:
  void fillTable();
  void fillChart();

  QLabel* summary_ = nullptr;
  QTableWidget* table_ = nullptr;
  QTextBrowser* diff_ = nullptr;
  ZoomableChartView* chart_view_ = nullptr;
  BaselinesPanel* baselines_ = nullptr;
  QSplitter* split_ = nullptr;
  QBarSet* delta_total_ = nullptr;
  QBarSet* delta_attention_ = nullptr;
  QValueAxis* layer_axis_ = nullptr;
  QValueAxis* ms_axis_ = nullptr;
  RunComparison current_;
  RunEntry a_{{}, {engine::RunReport{}}, {}}, b_{{}, {engine::RunReport{}}, {}};
  bool has_ = false;
};

}  // namespace flux::ui
