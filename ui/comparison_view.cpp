#include "ui/comparison_view.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QTextBrowser>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

#include "ui/comparison_baselines_panel.h"
#include "ui/layer_table_model.h"
#include "ui/route_label.h"
#include "ui/run_comparison.h"
#include "ui/text_diff.h"
#include "ui/zoomable_chart_view.h"

namespace flux::ui {
namespace {

QString modeText(const std::optional<engine::LayerMode>& m) {
  return m ? QString::fromLatin1(engine::layer_mode_name(*m)) : QStringLiteral("—");
}

QString entryName(const RunEntry& e) {
  const engine::RunReport& r = e.shown();
  return QStringLiteral("%1 %2%3").arg(QString::fromStdString(r.started_at).mid(11, 8), routeLabel(r),
                                       e.size() > 1 ? QObject::tr(" (×%1, medians)").arg(e.size()) : QString());
}

}  // namespace

QString comparabilityText(const RunComparison& c) {
  if (c.differences.empty()) return {};
  QStringList diffs;
  for (const auto& d : c.differences) diffs << QString::fromStdString(d);
  QString consequence;
  if (!c.same_setup)
    consequence = QObject::tr("the runs differ in more than routing: no speedup is shown");
  else if (!c.same_prompt)
    consequence = QObject::tr("different prompts: no prefill, decode, total or per-layer speedup is shown");
  else if (!c.same_generated)
    consequence = QObject::tr("decode is compared per token (ms/token); no total speedup is shown");
  else
    consequence = QObject::tr("this does not change what is compared");
  return QObject::tr("Not the same run setup — %1 — %2").arg(diffs.join(QStringLiteral("; ")), consequence);
}

QString speedupText(double speedup, bool comparable) {
  if (!comparable) return QObject::tr("— (not comparable)");
  return speedup > 0 ? QStringLiteral("×%1").arg(speedup, 0, 'f', 2) : QStringLiteral("—");
}

ComparisonView::ComparisonView(QWidget* parent) : QWidget(parent) {
  summary_ =
      new QLabel(tr("Select two runs in the Runs dock to compare them, or one run to compare with its baselines"));
  summary_->setWordWrap(true);
  summary_->setTextFormat(Qt::RichText);
  summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  table_ = new QTableWidget(0, ColCount);
  table_->setHorizontalHeaderLabels({tr("Layer"), tr("A"), tr("B"), tr("Plan"), tr("A ms"), tr("B ms"), tr("Δ ms"),
                                     tr("Speedup"), tr("Noise"), tr("Δ attn ms")});
  // Short headers keep the table narrow; the tooltips say what they are.
  const QStringList tips = {tr("Layer index"),
                            tr("Mode of the layer in run A"),
                            tr("Mode of the layer in run B"),
                            tr("= same mode in both runs, ≠ routed differently"),
                            tr("Prefill ms in run A (median over its runs)"),
                            tr("Prefill ms in run B (median over its runs)"),
                            tr("B minus A"),
                            tr("A / B: > 1 means B is faster; only for runs over the same prompt"),
                            tr("Within noise: the min–max spreads of A and B overlap; a single run has no spread"),
                            tr("B minus A of the attention op alone")};
  for (int c = 0; c < tips.size(); ++c) table_->horizontalHeaderItem(c)->setToolTip(tips[c]);
  // Columns as wide as their contents (a narrow dock scrolls rather than clipping); the chart gets the rest.
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->verticalHeader()->hide();
  table_->verticalHeader()->setDefaultSectionSize(20);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->setToolTip(
      tr("Per-layer prefill time of run A and B, B minus A, and A/B (> 1: B faster); rows that ran a "
         "different mode are bold and marked ≠; grey deltas are within the noise"));

  delta_total_ = new QBarSet(tr("Δ layer ms (B − A)"));
  delta_total_->setColor(QColor(0x55, 0x55, 0x60));
  delta_attention_ = new QBarSet(tr("Δ attention ms (B − A)"));
  delta_attention_->setColor(QColor(0xe8, 0x8a, 0x1a));
  auto* bars = new QBarSeries();
  bars->append(delta_total_);
  bars->append(delta_attention_);
  auto* chart = new QChart();
  chart->addSeries(bars);
  layer_axis_ = new QValueAxis();
  layer_axis_->setLabelFormat(QStringLiteral("%d"));
  layer_axis_->setTickType(QValueAxis::TicksDynamic);
  layer_axis_->setTickAnchor(0.0);
  layer_axis_->setTickInterval(5.0);
  ms_axis_ = new QValueAxis();
  ms_axis_->setLabelFormat(QStringLiteral("%.0f"));
  chart->addAxis(layer_axis_, Qt::AlignBottom);
  chart->addAxis(ms_axis_, Qt::AlignLeft);
  bars->attachAxis(layer_axis_);
  bars->attachAxis(ms_axis_);
  // No titles: the dock is short, the plot gets the height (the legend and the tooltip say what it shows).
  chart->legend()->setAlignment(Qt::AlignTop);
  QFont small = chart->legend()->font();
  small.setPointSizeF(small.pointSizeF() * 0.85);
  chart->legend()->setFont(small);
  layer_axis_->setLabelsFont(small);
  ms_axis_->setLabelsFont(small);
  chart->setMargins(QMargins(2, 2, 2, 2));
  chart->setBackgroundVisible(false);
  chart_view_ = new ZoomableChartView(chart);
  chart_view_->setRenderHint(QPainter::Antialiasing);
  chart_view_->setMinimumWidth(340);
  chart_view_->setToolTip(
      tr("Per-layer difference B − A of the whole layer's prefill time and of the attention op "
         "alone (medians).\nDrag to zoom, wheel zooms, double-click resets"));

  diff_ = new QTextBrowser();
  diff_->setToolTip(tr("Output of A vs B, word by word: struck through = only in A, underlined = only in B"));
  auto* top = new QSplitter(Qt::Horizontal);
  top->addWidget(table_);
  top->addWidget(chart_view_);
  top->setStretchFactor(0, 1);
  top->setStretchFactor(1, 1);
  baselines_ = new BaselinesPanel();
  split_ = new QSplitter(Qt::Vertical);
  QSplitter* split = split_;
  split->addWidget(top);
  split->addWidget(baselines_);
  split->addWidget(diff_);
  split->setStretchFactor(0, 3);
  split->setStretchFactor(1, 2);
  split->setStretchFactor(2, 1);
  // Baselines of one run with no two runs compared: the empty comparison panes give them their room.
  connect(baselines_, &BaselinesPanel::baselinesStarted, this, [this] {
    if (!has_) split_->setSizes({0, 1, 0});
  });
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(summary_);
  layout->addWidget(split, 1);
}

QString ComparisonView::summaryText() const {
  return summary_->text();
}

void ComparisonView::compare(const engine::RunReport& a, const engine::RunReport& b) {
  compare(RunEntry{{}, {a}, {}}, RunEntry{{}, {b}, {}});
}

void ComparisonView::compare(const RunEntry& a, const RunEntry& b) {
  a_ = a;
  b_ = b;
  if (!has_) split_->setSizes({3000, baselines_->hasBaselines() ? 2000 : 200, 1000});
  has_ = true;
  current_ = compare_runs(a, b);
  const RunComparison& c = current_;
  const QString warning = comparabilityText(c);
  const QString runs = c.runs_a > 1 || c.runs_b > 1 ? tr("medians of %1 and %2 runs").arg(c.runs_a).arg(c.runs_b)
                                                    : tr("single runs: noise unknown");
  summary_->setText(
      tr("A = %1, B = %2<br>%3B vs A: prefill %4, decode %5%6, total %7 (> 1: B faster; %8) · %9 layers routed "
         "differently · outputs %10")
          .arg(entryName(a).toHtmlEscaped(), entryName(b).toHtmlEscaped(),
               warning.isEmpty()
                   ? QString()
                   : QStringLiteral("<span style='color:#d03030'><b>%1</b></span><br>").arg(warning.toHtmlEscaped()),
               speedupText(c.prefill_speedup, c.prefill_comparable), speedupText(c.decode_speedup, c.decode_comparable),
               c.decode_normalised ? tr(" per token (normalised: the generated counts differ)") : QString(),
               speedupText(c.total_speedup, c.total_comparable), runs)
          .arg(c.plan_differences)
          .arg(c.same_output ? tr("identical") : tr("differ")));
  fillTable();
  fillChart();
  const QList<DiffPiece> diff =
      diffWords(QString::fromStdString(a.shown().output_text), QString::fromStdString(b.shown().output_text));
  diff_->setHtml(tr("<p><b>Output diff</b> — %1</p>")
                     .arg(c.same_output ? tr("identical")
                                        : tr("%1 characters differ; struck through: only in A, underlined: only in B")
                                              .arg(changedChars(diff))) +
                 diffHtml(diff));
}

void ComparisonView::fillTable() {
  const RunComparison& c = current_;
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
                               speedupText(d.speedup, c.prefill_comparable),
                               tr(noiseName(d.noise)),
                               QString::number(d.attention_delta_ms, 'f', 2)};
    for (int col = 0; col < cells.size(); ++col) {
      auto* item = new QTableWidgetItem(cells[col]);
      if (d.plan_differs) {
        QFont f = item->font();
        f.setBold(true);
        item->setFont(f);
      }
      const std::optional<engine::LayerMode>& mode = col == ColA ? d.mode_a : d.mode_b;
      if ((col == ColA || col == ColB) && mode) {
        item->setBackground(modeColor(*mode));
        item->setForeground(Qt::white);
      }
      if (d.noise == Noise::Within && (col == ColDelta || col == ColSpeedup || col == ColNoise))
        item->setForeground(Qt::gray);
      if (col >= ColPlan && col != ColNoise) item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
      table_->setItem(r, col, item);
    }
  }
}

void ComparisonView::fillChart() {
  const RunComparison& c = current_;
  delta_total_->remove(0, delta_total_->count());
  delta_attention_->remove(0, delta_attention_->count());
  double lo = 0.0, hi = 0.0;
  for (const LayerDelta& d : c.layers) {
    delta_total_->append(d.delta_ms);
    delta_attention_->append(d.attention_delta_ms);
    lo = std::min({lo, d.delta_ms, d.attention_delta_ms});
    hi = std::max({hi, d.delta_ms, d.attention_delta_ms});
  }
  const double pad = std::max(0.05 * (hi - lo), 0.01);
  chart_view_->resetZoom();
  layer_axis_->setRange(-0.5, std::max<int>(1, int(c.layers.size())) - 0.5);
  ms_axis_->setRange(lo - pad, hi + pad);
  // Different prompts: the bars are differences, not a speedup; the legend says so.
  const QString suffix = c.prefill_comparable ? QString() : tr(" — not comparable");
  delta_total_->setLabel(tr("Δ layer ms (B − A)") + suffix);
  delta_attention_->setLabel(tr("Δ attention ms (B − A)") + suffix);
}

QList<double> ComparisonView::deltaValues(bool attention_only) const {
  const QBarSet* set = attention_only ? delta_attention_ : delta_total_;
  QList<double> out;
  for (int i = 0; i < set->count(); ++i) out << set->at(i);
  return out;
}

}  // namespace flux::ui
