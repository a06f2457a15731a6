// Shows a RunComparison of two runs: speedups, per-layer prefill deltas and speedups with plan differences, and a
// word diff of the two outputs.
#pragma once

#include <QWidget>

#include "engine/runtime/run_report.h"
#include "ui/run_comparison.h"

class QLabel;
class QTextBrowser;
class QTableWidget;

namespace flux::ui {

class ComparisonView : public QWidget {
  Q_OBJECT
 public:
  explicit ComparisonView(QWidget* parent = nullptr);
  void compare(const engine::RunReport& a, const engine::RunReport& b);
  const RunComparison& current() const { return current_; }
  bool hasComparison() const { return has_; }
  const engine::RunReport& runA() const { return a_; }
  const engine::RunReport& runB() const { return b_; }
  QTableWidget* table() const { return table_; }
  QTextBrowser* diffView() const { return diff_; }
  QString summaryText() const;

 private:
  QLabel* summary_ = nullptr;
  QTableWidget* table_ = nullptr;
  QTextBrowser* diff_ = nullptr;
  RunComparison current_;
  engine::RunReport a_, b_;
  bool has_ = false;
};

}  // namespace flux::ui
