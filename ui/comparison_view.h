// Shows a RunComparison of two runs: speedups, per-layer prefill deltas with plan differences, outputs side by side.
#pragma once

#include <QWidget>

#include "engine/runtime/run_report.h"
#include "ui/run_comparison.h"

class QLabel;
class QPlainTextEdit;
class QTableWidget;

namespace flux::ui {

class ComparisonView : public QWidget {
  Q_OBJECT
 public:
  explicit ComparisonView(QWidget* parent = nullptr);
  void compare(const engine::RunReport& a, const engine::RunReport& b);
  const RunComparison& current() const { return current_; }

 private:
  QLabel* summary_ = nullptr;
  QTableWidget* table_ = nullptr;
  QPlainTextEdit* out_a_ = nullptr;
  QPlainTextEdit* out_b_ = nullptr;
  RunComparison current_;
};

}  // namespace flux::ui
