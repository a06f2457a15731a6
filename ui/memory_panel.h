// The "Memory" dock: what a run holds — weights, KV per layer (FA vs SA, evicted or kept, the rows an FA layer
// reserves for the tokens still to come), workspace — with totals and the KV saving against every layer dense, side
// by side before the run (Engine::estimate_memory of the next run, through EngineWorker) and after it (the shown
// report's measured MemoryReport). Exact byte counts sit in each cell's BytesRole for tests and tooltips.
#pragma once

#include <QWidget>

#include "engine/routing/routing_plan.h"
#include "engine/runtime/run_report.h"

class QLabel;
class QTableWidget;

namespace flux::ui {

class MemoryPanel : public QWidget {
  Q_OBJECT
 public:
  static constexpr int BytesRole = Qt::UserRole + 1;  // qulonglong bytes of a cell (invalid when not known)
  // Rows of the totals table.
  enum TotalRow { RowWeights, RowKvReserved, RowKvNew, RowKvKept, RowKvRead, RowWorkspace, RowTotal, RowKvAllFa,
                  RowSaving, TotalRowCount };
  enum TotalColumn { ColEstimate = 1, ColMeasured = 2 };

  explicit MemoryPanel(QWidget* parent = nullptr);

  // Before the run: the estimate for the next run and the plan it was made for (modes; "router decides").
  void showEstimate(const engine::MemoryReport& estimate, const engine::RoutingPlan& plan);
  void showEstimateError(const QString& message);
  // After the run (or a run picked in the history): the report's measured memory.
  void showMeasured(const engine::RunReport& report);
  void clearMeasured();

  const engine::MemoryReport& estimate() const { return estimate_; }
  const engine::MemoryReport& measured() const { return measured_; }
  bool hasEstimate() const { return has_estimate_; }
  bool hasMeasured() const { return has_measured_; }
  QTableWidget* totals() const { return totals_; }
  QTableWidget* layers() const { return layers_; }
  QString headline() const;

  // 1536 -> "1.5 KiB", for every byte figure the app shows.
  static QString formatBytes(std::size_t bytes);

 signals:
  void estimateShown();  // an estimate (or why there is none) has just been shown

 private:
  void fillTotals(int column, const engine::MemoryReport& m, bool known);
  void fillLayers();

  QLabel* headline_ = nullptr;
  QTableWidget* totals_ = nullptr;
  QTableWidget* layers_ = nullptr;
  engine::MemoryReport estimate_;
  engine::RoutingPlan plan_;
  engine::MemoryReport measured_;
  std::vector<std::pair<engine::LayerMode, std::string>> measured_layers_;  // mode and attention kind that ran
  engine::DecodeMode measured_decode_ = engine::DecodeMode::FluxScope;
  QString estimate_error_;
  bool has_estimate_ = false;
  bool has_measured_ = false;
};

}  // namespace flux::ui
