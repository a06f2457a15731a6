#include "ui/layer_map_widget.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QTableView>
#include <QVBoxLayout>

#include "engine/core/error.h"
#include "ui/elided_label.h"
#include "ui/layer_table_model.h"
#include "ui/prob_bar_delegate.h"

namespace flux::ui {

LayerMapWidget::LayerMapWidget(LayerTableModel* model, QWidget* parent) : QWidget(parent), model_(model) {
  view_ = new QTableView();
  view_->setModel(model_);
  view_->setItemDelegateForColumn(LayerTableModel::ColRouterProb, new ProbBarDelegate(view_));
  view_->setSelectionBehavior(QAbstractItemView::SelectRows);
  view_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  view_->verticalHeader()->hide();
  view_->verticalHeader()->setDefaultSectionSize(20);
  // Columns as wide as their contents; the router-probability bar takes the rest.
  view_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  view_->horizontalHeader()->setSectionResizeMode(LayerTableModel::ColRouterProb, QHeaderView::Stretch);
  view_->setContextMenuPolicy(Qt::CustomContextMenu);
  view_->setToolTip(
      tr("Right-click selected layers to force FA / SA or return them to Auto; double-click cycles "
         "Auto → FA → SA"));
  connect(view_, &QWidget::customContextMenuRequested, this, &LayerMapWidget::showMenu);
  // Double-click cycles a layer Auto → Force FA → Force SA → Auto.
  connect(view_, &QAbstractItemView::doubleClicked, this, [this](const QModelIndex& index) {
    const auto current = model_->overrideOf(index.row());
    std::optional<engine::LayerMode> next;
    if (!current)
      next = engine::LayerMode::FA;
    else if (*current == engine::LayerMode::FA)
      next = engine::LayerMode::SA;
    model_->setOverride({index.row()}, next);
  });

  preset_ = new QComboBox();
  preset_->addItem(tr("All FA"), QStringLiteral("fa"));
  preset_->addItem(tr("All SA"), QStringLiteral("sa"));
  preset_->addItem(tr("First k FA"), QStringLiteral("first-k"));
  preset_->addItem(tr("Every other SA"), QStringLiteral("every-other"));
  preset_->setToolTip(tr("Routing preset for layers without an override"));
  first_k_ = new QSpinBox();
  first_k_->setRange(0, 512);
  first_k_->setValue(4);
  first_k_->setPrefix(tr("k = "));
  first_k_->setToolTip(tr("Number of leading FA layers for the first-k preset"));
  auto* clear = new QPushButton(tr("Clear overrides"));
  clear->setToolTip(tr("Return every layer to Auto"));
  connect(clear, &QPushButton::clicked, model_, &LayerTableModel::clearOverrides);

  kind_ = new QComboBox();
  kind_->addItem(tr("streaming"), QStringLiteral("streaming"));
  kind_->addItem(tr("triangle"), QStringLiteral("triangle"));
  kind_->addItem(tr("xattn"), QStringLiteral("xattn"));
  kind_->setToolTip(tr("What SA means in the next run"));
  sink_ = new QSpinBox();
  sink_->setRange(0, 1 << 20);
  sink_->setValue(model_->sparse().sink);
  sink_->setPrefix(tr("sink "));
  sink_->setToolTip(tr("Attention-sink tokens kept at the start (streaming/triangle)"));
  window_ = new QSpinBox();
  window_->setRange(1, 1 << 20);
  window_->setValue(model_->sparse().window);
  window_->setPrefix(tr("window "));
  window_->setToolTip(tr("Local window in tokens (streaming/triangle)"));
  const engine::AttentionPlan defaults = model_->sparse();
  n_last_ = new QSpinBox();
  n_last_->setRange(0, 1 << 20);
  n_last_->setValue(defaults.n_last);
  n_last_->setPrefix(tr("n_last "));
  n_last_->setToolTip(tr("Triangle: the last n_last prompt tokens attend to the whole prompt"));
  block_ = new QSpinBox();
  block_->setRange(1, 4096);
  block_->setValue(defaults.block);
  block_->setPrefix(tr("block "));
  block_->setToolTip(tr("Tokens per attention block (query and key side); a multiple of the XAttention stride"));
  stride_ = new QSpinBox();
  stride_->setRange(1, 4096);
  stride_->setValue(defaults.stride);
  stride_->setPrefix(tr("stride "));
  stride_->setToolTip(tr("XAttention: antidiagonal stride used to score blocks"));
  tau_ = new QDoubleSpinBox();
  tau_->setRange(0.01, 1.0);
  tau_->setDecimals(3);
  tau_->setSingleStep(0.05);
  tau_->setValue(double(defaults.threshold));
  tau_->setPrefix(tr("tau "));
  tau_->setToolTip(
      tr("XAttention threshold: each query block keeps the key blocks holding this share of its "
         "attention mass (1 = all)"));
  fa_kind_ = new QComboBox();
  fa_kind_->addItem(tr("FA = full"), QStringLiteral("full"));
  fa_kind_->addItem(tr("FA = xattn"), QStringLiteral("xattn"));
  fa_kind_->setEnabled(false);
  fa_kind_->setToolTip(tr("What FA layers run; offered for checkpoints trained with an XAttention FA side"));
  decode_ = new QComboBox();
  decode_->addItem(tr("decode: FluxScope"), QStringLiteral("fluxscope"));
  decode_->addItem(tr("decode: reference"), QStringLiteral("reference"));
  decode_->setToolTip(
      tr("How SA layers decode: FluxScope (streaming layers keep a ring of sink + window rows) or "
         "the reference (dense KV, block-sparse reads like the authors' code)"));
  threshold_ = new QDoubleSpinBox();
  threshold_->setRange(0.0, 1.0);
  threshold_->setDecimals(3);
  threshold_->setSingleStep(0.05);
  threshold_->setValue(0.5);
  threshold_->setPrefix(tr("router threshold "));
  threshold_->setEnabled(false);
  threshold_->setToolTip(tr("The router's decision threshold (only with a layer router)"));

  auto* row1 = new QHBoxLayout();
  row1->addWidget(new QLabel(tr("Preset:")));
  row1->addWidget(preset_);
  row1->addWidget(first_k_);
  row1->addStretch();
  row1->addWidget(clear);
  auto* row2 = new QHBoxLayout();
  row2->addWidget(new QLabel(tr("SA kind:")));
  row2->addWidget(kind_);
  row2->addWidget(sink_);
  row2->addWidget(window_);
  row2->addWidget(n_last_);
  row2->addStretch();
  auto* row3 = new QHBoxLayout();
  row3->addWidget(new QLabel(tr("XAttention:")));
  row3->addWidget(tau_);
  row3->addWidget(stride_);
  row3->addWidget(block_);
  row3->addWidget(fa_kind_);
  row3->addStretch();
  auto* row4 = new QHBoxLayout();
  row4->addWidget(decode_);
  row4->addWidget(threshold_);
  row4->addStretch();
  plan_summary_ = new ElidedLabel();
  plan_summary_->setHint(
      tr("The routing plan the next run will use; the table below shows it per layer until a "
         "run fills in what each layer did"));
  connect(model_, &LayerTableModel::planChanged, this, &LayerMapWidget::updatePlanSummary);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addLayout(row1);
  layout->addLayout(row2);
  layout->addLayout(row3);
  layout->addLayout(row4);
  layout->addWidget(plan_summary_);
  layout->addWidget(view_);

  connect(preset_, &QComboBox::currentIndexChanged, this, &LayerMapWidget::applyPreset);
  connect(first_k_, &QSpinBox::valueChanged, this, &LayerMapWidget::applyPreset);
  connect(kind_, &QComboBox::currentIndexChanged, this, &LayerMapWidget::applySparse);
  connect(sink_, &QSpinBox::valueChanged, this, &LayerMapWidget::applySparse);
  connect(window_, &QSpinBox::valueChanged, this, &LayerMapWidget::applySparse);
  for (QSpinBox* box : {n_last_, block_, stride_})
    connect(box, &QSpinBox::valueChanged, this, &LayerMapWidget::applySparse);
  connect(tau_, &QDoubleSpinBox::valueChanged, this, &LayerMapWidget::applySparse);
  connect(fa_kind_, &QComboBox::currentIndexChanged, this, &LayerMapWidget::applySparse);
  connect(decode_, &QComboBox::currentIndexChanged, this, &LayerMapWidget::applySparse);
  connect(threshold_, &QDoubleSpinBox::valueChanged, this,
          [this](double t) { model_->setRouter(model_->hasRouter(), float(t), flux_family_); });
  applyPreset();
  updatePlanSummary();
}

void LayerMapWidget::setRouterAvailable(bool available, bool select) {
  const QString router = QStringLiteral("router");
  const int at = preset_->findData(router);
  {
    const QSignalBlocker block(preset_);  // one applyPreset below, not one per item change
    if (available && at < 0) {
      preset_->insertItem(0, tr("Router"), router);
      preset_->setItemData(0, tr("The model's layer router decides FA or SA per layer during prefill"),
                           Qt::ToolTipRole);
    } else if (!available && at >= 0) {
      const bool was_current = preset_->currentIndex() == at;
      preset_->removeItem(at);
      if (was_current) preset_->setCurrentIndex(preset_->findData(QStringLiteral("fa")));
    }
    if (available && select) preset_->setCurrentIndex(0);
  }
  applyPreset();
}

QString LayerMapWidget::planSummary() const {
  const engine::RoutingPlan plan = model_->plan();
  if (plan.layers.empty()) return tr("Next run: load a model to see its layers");
  int fa = 0, sa = 0, router = 0, forced = 0;
  for (const auto& l : plan.layers) {
    if (l.source == engine::DecisionSource::Override) ++forced;
    if (l.from_router)
      ++router;
    else if (l.mode == engine::LayerMode::FA)
      ++fa;
    else
      ++sa;
  }
  QStringList parts;
  if (router > 0) parts << tr("router decides %1").arg(router);
  if (fa > 0) parts << tr("%1 FA").arg(fa);
  if (sa > 0) parts << tr("%1 SA").arg(sa);
  QString line = tr("Next run: %1 (SA = %2)")
                     .arg(parts.join(QStringLiteral(" · ")),
                          QString::fromLatin1(engine::attention_mode_name(model_->sparse().mode)));
  if (forced > 0) line += tr(" · %1 overridden").arg(forced);
  if (!param_error_.isEmpty()) line += tr(" · parameters not applied: %1").arg(param_error_);
  return line;
}

void LayerMapWidget::updatePlanSummary() {
  plan_summary_->setFullText(planSummary());
  plan_summary_->setStyleSheet(param_error_.isEmpty() ? QString() : QStringLiteral("color: #d03030"));
}

QStringList LayerMapWidget::presets() const {
  QStringList out;
  for (int i = 0; i < preset_->count(); ++i) out << preset_->itemData(i).toString();
  return out;
}

void LayerMapWidget::setPreset(const QString& preset) {
  if (preset.startsWith(QStringLiteral("first-k:"))) {
    first_k_->setValue(preset.mid(8).toInt());
    preset_->setCurrentIndex(preset_->findData(QStringLiteral("first-k")));
  } else {
    const int i = preset_->findData(preset == QStringLiteral("full")     ? QStringLiteral("fa")
                                    : preset == QStringLiteral("sparse") ? QStringLiteral("sa")
                                                                         : preset);
    if (i >= 0) preset_->setCurrentIndex(i);
  }
  applyPreset();
}

bool LayerMapWidget::setSparseKind(const QString& kind) {
  const int i = kind_->findData(kind.toLower());
  if (i >= 0) kind_->setCurrentIndex(i);
  return i >= 0;
}

void LayerMapWidget::setSparse(const engine::AttentionPlan& sparse) {
  applying_ = true;
  setSparseKind(QString::fromLatin1(engine::attention_mode_name(sparse.mode)));
  sink_->setValue(sparse.sink);
  window_->setValue(sparse.window);
  n_last_->setValue(sparse.n_last);
  block_->setValue(sparse.block);
  stride_->setValue(sparse.stride);
  tau_->setValue(double(sparse.threshold));
  decode_->setCurrentIndex(decode_->findData(QString::fromLatin1(engine::decode_mode_name(sparse.decode))));
  applying_ = false;
  applySparse();
}

void LayerMapWidget::setRouter(bool present, float threshold, bool flux_family) {
  flux_family_ = flux_family;
  {
    const QSignalBlocker block(threshold_);
    threshold_->setValue(double(threshold));
  }
  threshold_->setEnabled(present);
  model_->setRouter(present, threshold, flux_family);
}

void LayerMapWidget::setDense(const engine::AttentionPlan& dense) {
  const bool xattn = dense.mode == engine::AttentionMode::XAttention;
  {
    const QSignalBlocker block(fa_kind_);
    fa_kind_->setCurrentIndex(xattn ? 1 : 0);
  }
  fa_kind_->setEnabled(xattn);  // only checkpoints trained with an XAttention FA side have the choice
  applySparse();
}

engine::RouteSpec LayerMapWidget::routeSpec() const {
  engine::RouteSpec spec = model_->routeSpec();
  const engine::AttentionPlan& s = model_->sparse();
  spec.sink = s.sink;
  spec.window = s.window;
  spec.n_last = s.n_last;
  spec.block = s.block;
  spec.stride = s.stride;
  spec.tau = s.threshold;
  spec.decode = s.decode;
  if (fa_kind_->isEnabled())
    spec.fa_kind = fa_kind_->currentData().toString() == QStringLiteral("xattn") ? engine::AttentionMode::XAttention
                                                                                 : engine::AttentionMode::Full;
  return spec;
}

void LayerMapWidget::applyRouteSpec(const engine::RouteSpec& spec) {
  // The engine's own resolve() checks the spec against this model first (preset, overrides, parameters).
  engine::RouteDefaults defaults;
  defaults.sparse = model_->sparse();
  defaults.dense.mode = fa_kind_->currentData().toString() == QStringLiteral("xattn")
                            ? engine::AttentionMode::XAttention
                            : engine::AttentionMode::Full;
  defaults.decode = defaults.sparse.decode;
  defaults.has_router = model_->hasRouter();
  defaults.threshold = float(threshold_->value());
  engine::require(model_->rowCount() > 0, "load a model before loading a route (its overrides name layers)");
  engine::require(spec.preset != "router" || model_->hasRouter(), "route 'router': this model has no layer router");
  const engine::RoutingPlan plan = engine::resolve(spec, model_->rowCount(), defaults);
  setPreset(QString::fromStdString(spec.preset));
  if (spec.threshold && model_->hasRouter()) threshold_->setValue(double(*spec.threshold));
  if (fa_kind_->isEnabled() && spec.fa_kind)
    fa_kind_->setCurrentIndex(plan.dense.mode == engine::AttentionMode::XAttention ? 1 : 0);
  setSparse(plan.sparse);
  model_->clearOverrides();
  for (const engine::LayerOverride& o : spec.overrides) {
    QList<int> layers;
    for (int l = o.first; l <= o.last; ++l) layers << l;
    model_->setOverride(layers, o.mode);
  }
}

void LayerMapWidget::saveSettings() const {
  QSettings s;
  const engine::AttentionPlan& p = model_->sparse();
  s.setValue(QStringLiteral("plan/saKind"), QString::fromLatin1(engine::attention_mode_name(p.mode)));
  s.setValue(QStringLiteral("plan/sink"), p.sink);
  s.setValue(QStringLiteral("plan/window"), p.window);
  s.setValue(QStringLiteral("plan/nLast"), p.n_last);
  s.setValue(QStringLiteral("plan/block"), p.block);
  s.setValue(QStringLiteral("plan/stride"), p.stride);
  s.setValue(QStringLiteral("plan/tau"), double(p.threshold));
  s.setValue(QStringLiteral("plan/decode"), QString::fromLatin1(engine::decode_mode_name(p.decode)));
}

void LayerMapWidget::restoreSettings() {
  QSettings s;
  engine::AttentionPlan p = model_->sparse();
  try {
    p.mode = engine::parse_attention_mode(
        s.value(QStringLiteral("plan/saKind"), QStringLiteral("streaming")).toString().toStdString());
    p.decode = engine::parse_decode_mode(
        s.value(QStringLiteral("plan/decode"), QStringLiteral("fluxscope")).toString().toStdString());
  } catch (const std::exception&) {
    // a hand-edited settings file: keep the defaults
  }
  if (p.mode == engine::AttentionMode::Full) p.mode = engine::AttentionMode::Streaming;
  p.sink = s.value(QStringLiteral("plan/sink"), p.sink).toInt();
  p.window = s.value(QStringLiteral("plan/window"), p.window).toInt();
  p.n_last = s.value(QStringLiteral("plan/nLast"), p.n_last).toInt();
  p.block = s.value(QStringLiteral("plan/block"), p.block).toInt();
  p.stride = s.value(QStringLiteral("plan/stride"), p.stride).toInt();
  p.threshold = float(s.value(QStringLiteral("plan/tau"), double(p.threshold)).toDouble());
  setSparse(p);
}

void LayerMapWidget::applyPreset() {
  const QString p = preset_->currentData().toString();
  first_k_->setEnabled(p == QStringLiteral("first-k"));
  const QString preset = p == QStringLiteral("first-k") ? QStringLiteral("first-k:%1").arg(first_k_->value()) : p;
  if (preset != model_->preset()) model_->setPreset(preset);
}

void LayerMapWidget::applySparse() {
  if (applying_) return;
  engine::AttentionPlan sparse = model_->sparse();
  sparse.mode = engine::parse_attention_mode(kind_->currentData().toString().toStdString());
  sparse.sink = sink_->value();
  sparse.window = window_->value();
  sparse.n_last = n_last_->value();
  sparse.block = block_->value();
  sparse.stride = stride_->value();
  sparse.threshold = float(tau_->value());
  sparse.decode = engine::parse_decode_mode(decode_->currentData().toString().toStdString());
  engine::AttentionPlan dense = sparse;
  dense.mode = fa_kind_->isEnabled() && fa_kind_->currentData().toString() == QStringLiteral("xattn")
                   ? engine::AttentionMode::XAttention
                   : engine::AttentionMode::Full;
  const bool xattn =
      sparse.mode == engine::AttentionMode::XAttention || dense.mode == engine::AttentionMode::XAttention;
  sink_->setEnabled(sparse.mode != engine::AttentionMode::XAttention);
  window_->setEnabled(sparse.mode != engine::AttentionMode::XAttention);
  n_last_->setEnabled(sparse.mode == engine::AttentionMode::Triangle);
  tau_->setEnabled(xattn);
  stride_->setEnabled(xattn);
  try {
    engine::validate(sparse);  // the engine's own check (block a multiple of stride, ...): resolve() would throw
    engine::validate(dense);
  } catch (const std::exception& e) {
    param_error_ = QString::fromStdString(e.what());
    updatePlanSummary();
    return;
  }
  param_error_.clear();
  model_->setSparse(sparse);
  model_->setDense(dense);
}

void LayerMapWidget::forceSelected(int mode) {
  QList<int> rows;
  for (const QModelIndex& i : view_->selectionModel()->selectedRows()) rows << i.row();
  if (mode < 0)
    model_->setOverride(rows, std::nullopt);
  else
    model_->setOverride(rows, mode == 0 ? engine::LayerMode::FA : engine::LayerMode::SA);
}

void LayerMapWidget::showMenu(const QPoint& pos) {
  if (!view_->selectionModel()->hasSelection()) return;
  QMenu menu(this);
  menu.addAction(tr("Auto"), this, [this] { forceSelected(-1); });
  menu.addAction(tr("Force FA"), this, [this] { forceSelected(0); });
  menu.addAction(tr("Force SA"), this, [this] { forceSelected(1); });
  menu.exec(view_->viewport()->mapToGlobal(pos));
}

}  // namespace flux::ui
