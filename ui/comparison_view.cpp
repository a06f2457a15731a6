#include "ui/comparison_view.h"

#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "ui/layer_table_model.h"
#include "ui/run_comparison.h"
#include "ui/text_diff.h"

namespace flux::ui {
namespace {

QString modeText(const std::optional<engine::LayerMode>& m) {
  return m ? QString::fromLatin1(engine::layer_mode_name(*m)) : QStringLiteral("—");
}

QString runName(const engine::RunReport& r) {
  return QStringLiteral("%1 %2%3").arg(
      QString::fromStdString(r.started_at).mid(11, 8), QString::fromStdString(r.settings.route),
      r.settings.overrides.empty() ? QString() : QStringLiteral(" +") + QString::fromStdString(r.settings.overrides));
}

}  // namespace

ComparisonView::ComparisonView(QWidget* parent) : QWidget(parent) {
  summary_ = new QLabel(tr("Select two runs in the Runs dock to compare them"));
  summary_->setWordWrap(true);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  table_ = new QTableWidget(0, 8);
  table_->setHorizontalHeaderLabels(
      {tr("Layer"), tr("A"), tr("B"), tr("Plan"), tr("A ms"), tr("B ms"), tr("Δ ms"), tr("Speedup")});
  // Short headers keep the table narrow; the tooltips say what they are.
  const QStringList tips = {tr("Layer index"),
                            tr("Mode of the layer in run A"),
                            tr("Mode of the layer in run B"),
                            tr("= same mode in both runs, ≠ routed differently"),
                            tr("Prefill ms in run A"),
                            tr("Prefill ms in run B"),
                            tr("B minus A"),
                            tr("A / B: > 1 means B is faster")};
  for (int c = 0; c < tips.size(); ++c) table_->horizontalHeaderItem(c)->setToolTip(tips[c]);
  // Columns as wide as their contents (a narrow dock scrolls rather than clipping "Speedup"); the last one stretches.
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->horizontalHeader()->setStretchLastSection(true);
  table_->verticalHeader()->hide();
  table_->verticalHeader()->setDefaultSectionSize(20);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setToolTip(
      tr("Per-layer prefill time of run A and B, B minus A, and A/B (> 1: B faster); rows that ran a "
         "different mode are bold and marked ≠"));
  diff_ = new QTextBrowser();
  diff_->setToolTip(tr("Output of A vs B, word by word: struck through = only in A, underlined = only in B"));
  auto* split = new QSplitter(Qt::Vertical);
  split->addWidget(table_);
  split->addWidget(diff_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(summary_);
  layout->addWidget(split, 1);
}

QString ComparisonView::summaryText() const {
  return summary_->text();
}

void ComparisonView::compare(const engine::RunReport& a, const engine::RunReport& b) {
  a_ = a;
  b_ = b;
  has_ = true;
  current_ = compare_runs(a, b);
  const RunComparison& c = current_;
  summary_->setText(tr("A = %1, B = %2\nB vs A: prefill ×%3, decode ×%4, total ×%5 (> 1: B faster) · %6 layers "
                       "routed differently · outputs %7")
                        .arg(runName(a), runName(b))
                        .arg(c.prefill_speedup, 0, 'f', 2)
                        .arg(c.decode_speedup, 0, 'f', 2)
                        .arg(c.total_speedup, 0, 'f', 2)
                        .arg(c.plan_differences)
                        .arg(c.same_output ? tr("identical") : tr("differ")));
  table_->setRowCount(int(c.layers.size()));
  for (int r = 0; r < int(c.layers.size()); ++r) {
    const LayerDelta& d = c.layers[std::size_t(r)];
    const QStringList cells = {QString::number(d.index),
                               modeText(d.mode_a),
                               modeText(d.mode_b),
                               d.plan_differs ? QStringLiteral("≠") : QStringLiteral("="),
                               QString::number(d.ms_a, 'f', 2),
                               QString::number(d.ms_b, 'f', 2),
                               QString::number(d.delta_ms, 'f', 2),
                               d.speedup > 0 ? QStringLiteral("×%1").arg(d.speedup, 0, 'f', 2) : QStringLiteral("—")};
    for (int col = 0; col < cells.size(); ++col) {
      auto* item = new QTableWidgetItem(cells[col]);
      if (d.plan_differs) {
        QFont f = item->font();
        f.setBold(true);
        item->setFont(f);
      }
      const std::optional<engine::LayerMode>& mode = col == 1 ? d.mode_a : d.mode_b;
      if ((col == 1 || col == 2) && mode) {
        item->setBackground(modeColor(*mode));
        item->setForeground(Qt::white);
      }
      if (col >= 3) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      table_->setItem(r, col, item);
    }
  }
  const QList<DiffPiece> diff = diffWords(QString::fromStdString(a.output_text), QString::fromStdString(b.output_text));
  diff_->setHtml(tr("<p><b>Output diff</b> — %1</p>")
                     .arg(c.same_output ? tr("identical")
                                        : tr("%1 characters differ; struck through: only in A, underlined: only in B")
                                              .arg(changedChars(diff))) +
                 diffHtml(diff));
}

}  // namespace flux::ui
