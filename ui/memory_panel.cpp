#include "ui/memory_panel.h"

#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <numeric>

#include "ui/layer_table_model.h"

namespace flux::ui {

using engine::LayerMode;

namespace {

enum LayerColumn { LColLayer, LColMode, LColEstimate, LColReserved, LColNew, LColKept, LColRead, LColEvicted, LColCount };

QTableWidgetItem* bytesItem(std::size_t bytes, bool known = true) {
  auto* item = new QTableWidgetItem(known ? MemoryPanel::formatBytes(bytes) : QString());
  if (known) {
    item->setData(MemoryPanel::BytesRole, qulonglong(bytes));
    item->setToolTip(QObject::tr("%L1 bytes").arg(qulonglong(bytes)));
  }
  item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return item;
}

QTableWidget* table(const QStringList& headers) {
  auto* t = new QTableWidget(0, int(headers.size()));
  t->setHorizontalHeaderLabels(headers);
  t->verticalHeader()->setVisible(false);
  t->setEditTriggers(QAbstractItemView::NoEditTriggers);
  t->setSelectionBehavior(QAbstractItemView::SelectRows);
  t->setAlternatingRowColors(true);
  t->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  t->verticalHeader()->setDefaultSectionSize(t->fontMetrics().height() + 6);
  return t;
}

}  // namespace

QString MemoryPanel::formatBytes(std::size_t bytes) {
  const double b = double(bytes);
  if (b >= 1024.0 * 1024.0 * 1024.0) return tr("%1 GiB").arg(b / (1024.0 * 1024.0 * 1024.0), 0, 'f', 2);
  if (b >= 1024.0 * 1024.0) return tr("%1 MiB").arg(b / (1024.0 * 1024.0), 0, 'f', 2);
  if (b >= 1024.0) return tr("%1 KiB").arg(b / 1024.0, 0, 'f', 1);
  return tr("%1 B").arg(qulonglong(bytes));
}

MemoryPanel::MemoryPanel(QWidget* parent) : QWidget(parent) {
  headline_ = new QLabel(tr("Load a model: the memory of the next run is estimated from its plan"));
  headline_->setWordWrap(true);
  headline_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  totals_ = table({tr("Memory"), tr("Estimate (next run)"), tr("Measured (shown run)")});
  totals_->setSelectionMode(QAbstractItemView::NoSelection);
  static const char* rows[] = {QT_TR_NOOP("Weights"),
                               QT_TR_NOOP("KV reserved"),
                               QT_TR_NOOP("  of it for new tokens"),
                               QT_TR_NOOP("KV kept (holds a position)"),
                               QT_TR_NOOP("KV read by one decode step"),
                               QT_TR_NOOP("Workspace"),
                               QT_TR_NOOP("Total"),
                               QT_TR_NOOP("KV if every layer ran FA"),
                               QT_TR_NOOP("KV saving vs all-FA")};
  totals_->setRowCount(TotalRowCount);
  for (int r = 0; r < TotalRowCount; ++r) {
    auto* item = new QTableWidgetItem(tr(rows[r]));
    if (r == RowTotal || r == RowSaving) {
      QFont bold = item->font();
      bold.setBold(true);
      item->setFont(bold);
    }
    totals_->setItem(r, 0, item);
  }
  totals_->setToolTip(
      tr("KV reserved: what the cache allocates per layer after prefill; for FA layers it includes the rows reserved "
         "for the tokens still to be generated.\nKept: rows holding a position (a streaming ring evicts the rest).\n"
         "Workspace: activations and scratch, measured where the device tracks its peak (CUDA)."));
  layers_ = table({tr("Layer"), tr("Mode"), tr("KV estimate"), tr("KV reserved"), tr("for new tokens"),
                   tr("kept"), tr("read / step"), tr("evicted")});
  layers_->setToolTip(tr("KV per layer: the estimate for the next run, then what the shown run measured"));
  auto* split = new QSplitter(Qt::Horizontal);
  split->addWidget(totals_);
  split->addWidget(layers_);
  split->setStretchFactor(1, 1);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addWidget(headline_);
  layout->addWidget(split, 1);
}

void MemoryPanel::fillTotals(int column, const engine::MemoryReport& m, bool known) {
  std::size_t kv_new = 0;
  for (const auto& l : m.layers) kv_new += l.kv_new_tokens;
  totals_->setItem(RowWeights, column, bytesItem(m.weights, known));
  totals_->setItem(RowKvReserved, column, bytesItem(m.kv_reserved_total(), known));
  totals_->setItem(RowKvNew, column, bytesItem(kv_new, known));
  totals_->setItem(RowKvKept, column, bytesItem(m.kv_kept_total(), known));
  totals_->setItem(RowKvRead, column, bytesItem(m.kv_read_total(), known));
  QTableWidgetItem* workspace = bytesItem(m.workspace, known);
  if (known && !m.workspace_measured) {
    workspace->setText(tr("not tracked"));
    workspace->setToolTip(tr("This backend does not track its peak (the CPU backend); counted as 0 in the total"));
  }
  totals_->setItem(RowWorkspace, column, workspace);
  totals_->setItem(RowTotal, column, bytesItem(m.total(), known));
  totals_->setItem(RowKvAllFa, column, bytesItem(m.kv_all_fa, known));
  auto* saving = new QTableWidgetItem(known ? QStringLiteral("%1%").arg(m.kv_saving() * 100.0, 0, 'f', 1) : QString());
  if (known) saving->setData(BytesRole, m.kv_saving());
  saving->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  totals_->setItem(RowSaving, column, saving);
  // The totals are short: show them whole, the per-layer table takes the rest of the width.
  totals_->resizeColumnsToContents();
  totals_->setMinimumWidth(totals_->horizontalHeader()->length() + 2 * totals_->frameWidth() + 4);
}

void MemoryPanel::showEstimate(const engine::MemoryReport& estimate, const engine::RoutingPlan& plan) {
  estimate_ = estimate;
  plan_ = plan;
  has_estimate_ = true;
  estimate_error_.clear();
  fillTotals(ColEstimate, estimate_, true);
  fillLayers();
  emit estimateShown();
}

void MemoryPanel::showEstimateError(const QString& message) {
  has_estimate_ = false;
  estimate_error_ = message;
  fillTotals(ColEstimate, {}, false);
  fillLayers();
  emit estimateShown();
}

void MemoryPanel::showMeasured(const engine::RunReport& report) {
  measured_ = report.memory;
  measured_layers_.clear();
  for (const auto& l : report.layers) measured_layers_.emplace_back(l.mode, l.attention);  // not the block masks
  measured_decode_ = report.sparse.decode;
  has_measured_ = report.memory.measured;
  fillTotals(ColMeasured, measured_, has_measured_);
  fillLayers();
}

void MemoryPanel::clearMeasured() {
  has_measured_ = false;
  measured_layers_.clear();
  fillTotals(ColMeasured, {}, false);
  fillLayers();
}

QString MemoryPanel::headline() const {
  return headline_->text();
}

void MemoryPanel::fillLayers() {
  const int n = int(std::max({has_estimate_ ? estimate_.layers.size() : 0,
                              has_measured_ ? measured_.layers.size() : 0}));
  layers_->setRowCount(n);
  for (int l = 0; l < n; ++l) {
    const auto i = std::size_t(l);
    auto* layer = new QTableWidgetItem(QString::number(l));
    layer->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    layers_->setItem(l, LColLayer, layer);
    // The mode the shown run ran, else what the next run's plan says.
    QString mode;
    LayerMode m = LayerMode::FA;
    bool decided = true;
    if (has_measured_ && i < measured_layers_.size()) {
      m = measured_layers_[i].first;
      mode = QStringLiteral("%1 %2").arg(QString::fromLatin1(engine::layer_mode_name(m)),
                                         QString::fromStdString(measured_layers_[i].second));
    } else if (has_estimate_ && i < plan_.layers.size()) {
      m = plan_.layers[i].mode;
      decided = !(i < estimate_.layers.size() && estimate_.layers[i].router_decides);
      mode = decided ? QStringLiteral("%1 %2").arg(QString::fromLatin1(engine::layer_mode_name(m)),
                                                   QString::fromLatin1(engine::attention_mode_name(
                                                       plan_.attention_of(m).mode)))
                     : tr("router decides (counted FA)");
    }
    auto* mode_item = new QTableWidgetItem(mode);
    if (decided) {
      mode_item->setBackground(modeColor(m));
      mode_item->setForeground(QColor(Qt::white));
    }
    layers_->setItem(l, LColMode, mode_item);
    const bool est = has_estimate_ && i < estimate_.layers.size();
    layers_->setItem(l, LColEstimate, bytesItem(est ? estimate_.layers[i].kv_reserved : 0, est));
    const bool meas = has_measured_ && i < measured_.layers.size();
    const engine::LayerMemory lm = meas ? measured_.layers[i] : engine::LayerMemory{};
    layers_->setItem(l, LColReserved, bytesItem(lm.kv_reserved, meas));
    layers_->setItem(l, LColNew, bytesItem(lm.kv_new_tokens, meas));
    layers_->setItem(l, LColKept, bytesItem(lm.kv_kept, meas));
    layers_->setItem(l, LColRead, bytesItem(lm.kv_read, meas));
    auto* evicted = new QTableWidgetItem(meas ? (lm.evicted ? tr("yes (ring)") : tr("no")) : QString());
    layers_->setItem(l, LColEvicted, evicted);
  }
  // The headline: the two totals and savings in words, and which decode mode the measured run used.
  QStringList parts;
  if (has_estimate_)
    parts << tr("<b>Next run (estimate):</b> %1 total, KV %2 — %3% less KV than all-FA (%4)")
                 .arg(formatBytes(estimate_.total()), formatBytes(estimate_.kv_reserved_total()))
                 .arg(estimate_.kv_saving() * 100.0, 0, 'f', 1)
                 .arg(formatBytes(estimate_.kv_all_fa));
  else if (!estimate_error_.isEmpty())
    parts << tr("<b>Next run:</b> no estimate — %1").arg(estimate_error_.toHtmlEscaped());
  if (has_measured_)
    parts << tr("<b>Shown run (measured):</b> %1 total, KV %2 — %3% less KV than all-FA (%4); decode mode %5%6")
                 .arg(formatBytes(measured_.total()), formatBytes(measured_.kv_reserved_total()))
                 .arg(measured_.kv_saving() * 100.0, 0, 'f', 1)
                 .arg(formatBytes(measured_.kv_all_fa))
                 .arg(QString::fromLatin1(engine::decode_mode_name(measured_decode_)))
                 .arg(measured_decode_ == engine::DecodeMode::FluxScope
                          ? tr(" (streaming layers evict all but sink + window)")
                          : tr(" (nothing evicted; SA layers read sink + local blocks)"));
  headline_->setText(parts.isEmpty() ? tr("No estimate yet: load a model and type a prompt")
                                     : parts.join(QStringLiteral("<br>")));
}

}  // namespace flux::ui
