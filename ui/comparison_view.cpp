#include "ui/comparison_view.h"

#include <QHeaderView>
#include <QLabel>
#include <QPlainTextEdit>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include "ui/layer_table_model.h"
#include "ui/run_comparison.h"

namespace flux::ui {
namespace {

QString modeText(const std::optional<engine::LayerMode>& m) {
  return m ? QString::fromLatin1(engine::layer_mode_name(*m)) : QStringLiteral("—");
}

}  // namespace

ComparisonView::ComparisonView(QWidget* parent) : QWidget(parent) {
  summary_ = new QLabel();
  summary_->setWordWrap(true);
  table_ = new QTableWidget(0, 6);
  table_->setHorizontalHeaderLabels({tr("Layer"), tr("Mode A"), tr("Mode B"), tr("A ms"), tr("B ms"), tr("Δ ms")});
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  table_->verticalHeader()->hide();
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setToolTip(tr("Per-layer prefill time of run B minus run A; bold rows ran a different mode"));
  out_a_ = new QPlainTextEdit();
  out_a_->setReadOnly(true);
  out_b_ = new QPlainTextEdit();
  out_b_->setReadOnly(true);
  auto* outputs = new QSplitter(Qt::Horizontal);
  outputs->addWidget(out_a_);
  outputs->addWidget(out_b_);
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(table_);
  split->addWidget(outputs);
  auto* layout = new QVBoxLayout(this);
  layout->addWidget(summary_);
  layout->addWidget(split, 1);
}

void ComparisonView::compare(const engine::RunReport& a, const engine::RunReport& b) {
  current_ = compare_runs(a, b);
  const RunComparison& c = current_;
  summary_->setText(tr("B vs A — prefill ×%1, decode ×%2, total ×%3 (>1: B faster) · %4 layers routed differently · "
                       "outputs %5")
                        .arg(c.prefill_speedup, 0, 'f', 2)
                        .arg(c.decode_speedup, 0, 'f', 2)
                        .arg(c.total_speedup, 0, 'f', 2)
                        .arg(c.plan_differences)
                        .arg(c.same_output ? tr("identical") : tr("differ")));
  table_->setRowCount(int(c.layers.size()));
  for (int r = 0; r < int(c.layers.size()); ++r) {
    const LayerDelta& d = c.layers[std::size_t(r)];
    const QStringList cells = {QString::number(d.index), modeText(d.mode_a), modeText(d.mode_b),
                               QString::number(d.ms_a, 'f', 2), QString::number(d.ms_b, 'f', 2),
                               QString::number(d.delta_ms, 'f', 2)};
    for (int col = 0; col < cells.size(); ++col) {
      auto* item = new QTableWidgetItem(cells[col]);
      if (d.plan_differs) {
        QFont f = item->font();
        f.setBold(true);
        item->setFont(f);
      }
      if (col == 1 && d.mode_a) item->setBackground(modeColor(*d.mode_a));
      if (col == 2 && d.mode_b) item->setBackground(modeColor(*d.mode_b));
      table_->setItem(r, col, item);
    }
  }
  out_a_->setPlainText(tr("A: ") + QString::fromStdString(a.output_text));
  out_b_->setPlainText(tr("B: ") + QString::fromStdString(b.output_text));
}

}  // namespace flux::ui
