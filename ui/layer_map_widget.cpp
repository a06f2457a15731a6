#include "ui/layer_map_widget.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMenu>
#include <QPushButton>
#include <QSpinBox>
#include <QTableView>
#include <QVBoxLayout>

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
  row2->addStretch();
  plan_summary_ = new QLabel();
  plan_summary_->setWordWrap(true);
  plan_summary_->setToolTip(
      tr("The routing plan the next run will use; the table below shows it per layer until a "
         "run fills in what each layer did"));
  connect(model_, &LayerTableModel::planChanged, this, &LayerMapWidget::updatePlanSummary);
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(4, 4, 4, 4);
  layout->addLayout(row1);
  layout->addLayout(row2);
  layout->addWidget(plan_summary_);
  layout->addWidget(view_);

  connect(preset_, &QComboBox::currentIndexChanged, this, &LayerMapWidget::applyPreset);
  connect(first_k_, &QSpinBox::valueChanged, this, &LayerMapWidget::applyPreset);
  connect(kind_, &QComboBox::currentIndexChanged, this, &LayerMapWidget::applySparse);
  connect(sink_, &QSpinBox::valueChanged, this, &LayerMapWidget::applySparse);
  connect(window_, &QSpinBox::valueChanged, this, &LayerMapWidget::applySparse);
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
  return line;
}

void LayerMapWidget::updatePlanSummary() {
  plan_summary_->setText(planSummary());
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
  setSparseKind(QString::fromLatin1(engine::attention_mode_name(sparse.mode)));
  sink_->setValue(sparse.sink);
  window_->setValue(sparse.window);
  applySparse();
}

void LayerMapWidget::applyPreset() {
  const QString p = preset_->currentData().toString();
  first_k_->setEnabled(p == QStringLiteral("first-k"));
  const QString preset = p == QStringLiteral("first-k") ? QStringLiteral("first-k:%1").arg(first_k_->value()) : p;
  if (preset != model_->preset()) model_->setPreset(preset);
}

void LayerMapWidget::applySparse() {
  engine::AttentionPlan sparse = model_->sparse();
  sparse.mode = engine::parse_attention_mode(kind_->currentData().toString().toStdString());
  sparse.sink = sink_->value();
  sparse.window = window_->value();
  const bool windowed = sparse.mode != engine::AttentionMode::XAttention;
  sink_->setEnabled(windowed);
  window_->setEnabled(windowed);
  model_->setSparse(sparse);
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
