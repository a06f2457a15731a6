#include "ui/layer_table_model.h"

#include <QColor>

#include "engine/router/routing_policy.h"

namespace flux::ui {

using engine::LayerMode;

QColor modeColor(LayerMode mode) {
  return mode == LayerMode::FA ? QColor(0x3b, 0x7d, 0xd8) : QColor(0xe8, 0x8a, 0x1a);
}

LayerTableModel::LayerTableModel(QObject* parent) : QAbstractTableModel(parent) {
  sparse_.mode = engine::AttentionMode::Streaming;
}

int LayerTableModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : n_layers_;
}
int LayerTableModel::columnCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : ColumnCount;
}

QVariant LayerTableModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
    return QAbstractTableModel::headerData(section, orientation, role);
  static const char* names[] = {"Layer", "Mode", "SA kind", "Router p", "Source", "Prefill ms", "KV KiB"};
  return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

QVariant LayerTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= n_layers_) return {};
  const auto row = static_cast<std::size_t>(index.row());
  const engine::LayerRoute& route = plan_.layers[row];
  const std::optional<engine::LayerReport>& result = results_[row];
  const LayerMode mode = result ? result->mode : route.mode;
  const std::optional<float> prob = result ? result->router_prob : route.router_prob;
  // Before the run, a layer left to the router has no mode yet: the router decides it during prefill.
  const bool undecided = !result && route.from_router;
  const engine::DecisionSource source = result ? result->source : route.source;
  const QString kind = mode == LayerMode::SA ? (result ? QString::fromStdString(result->sa_kind)
                                                       : QString::fromLatin1(engine::attention_mode_name(sparse_.mode)))
                                             : QString();
  const int col = index.column();
  if (role == Qt::DisplayRole) {
    switch (col) {
      case ColLayer:
        return index.row();
      case ColMode:
        return undecided ? tr("auto") : QString::fromLatin1(engine::layer_mode_name(mode));
      case ColSaKind:
        return undecided ? QString() : kind;
      case ColRouterProb:
        return prob ? QString::number(double(*prob), 'f', 2) : undecided ? tr("router decides") : QStringLiteral("—");
      case ColSource:
        return QString::fromLatin1(engine::decision_source_name(source));
      case ColPrefillMs:
        return result ? QString::number(result->prefill_ms, 'f', 2) : QString();
      case ColKv:
        return result ? QString::number(double(result->kv_bytes) / 1024.0, 'f', 1) : QString();
      default:
        return {};
    }
  }
  if (role == RawRole) {
    switch (col) {
      case ColMode:
        return undecided ? QStringLiteral("auto") : QString::fromLatin1(engine::layer_mode_name(mode));
      case ColRouterProb:
        return prob ? QVariant(double(*prob)) : QVariant();
      case ColPrefillMs:
        return result ? QVariant(result->prefill_ms) : QVariant();
      case ColKv:
        return result ? QVariant(qulonglong(result->kv_bytes)) : QVariant();
      default:
        return data(index, Qt::DisplayRole);
    }
  }
  if (role == Qt::BackgroundRole && col == ColMode) return undecided ? QColor(Qt::gray) : modeColor(mode);
  if (role == Qt::ForegroundRole && col == ColMode) return QColor(Qt::white);
  if (role == Qt::TextAlignmentRole && col != ColSaKind && col != ColSource)
    return int(Qt::AlignRight | Qt::AlignVCenter);
  if (role == Qt::ToolTipRole) {
    if (undecided)
      return tr("Layer %1: the router decides FA or SA during prefill (SA iff p > %2)")
          .arg(index.row())
          .arg(double(route.router_threshold), 0, 'f', 2);
    return tr("Layer %1: %2%3, decided by %4%5")
        .arg(index.row())
        .arg(QString::fromLatin1(engine::layer_mode_name(mode)))
        .arg(kind.isEmpty() ? QString() : QStringLiteral(" (%1)").arg(kind))
        .arg(QString::fromLatin1(engine::decision_source_name(source)))
        .arg(result ? tr(" — measured") : tr(" — planned for the next run"));
  }
  return {};
}

void LayerTableModel::setLayerCount(int n_layers) {
  beginResetModel();
  n_layers_ = std::max(0, n_layers);
  overrides_.assign(static_cast<std::size_t>(n_layers_), std::nullopt);
  results_.assign(static_cast<std::size_t>(n_layers_), std::nullopt);
  plan_ = plan();
  endResetModel();
  emit planChanged();
}

void LayerTableModel::setPreset(const QString& preset) {
  preset_ = preset;
  planEdited();
}

void LayerTableModel::setRouter(bool present, float threshold) {
  has_router_ = present;
  router_threshold_ = threshold;
  planEdited();
}

void LayerTableModel::setSparse(const engine::AttentionPlan& sparse) {
  sparse_ = sparse;
  planEdited();
}

void LayerTableModel::setOverride(const QList<int>& layers, std::optional<LayerMode> mode) {
  for (int l : layers)
    if (l >= 0 && l < n_layers_) overrides_[static_cast<std::size_t>(l)] = mode;
  planEdited();
}

void LayerTableModel::clearOverrides() {
  overrides_.assign(static_cast<std::size_t>(n_layers_), std::nullopt);
  planEdited();
}

std::optional<LayerMode> LayerTableModel::overrideOf(int layer) const {
  return layer >= 0 && layer < n_layers_ ? overrides_[static_cast<std::size_t>(layer)] : std::nullopt;
}

engine::RoutingPlan LayerTableModel::plan() const {
  engine::RoutingPlan p;
  if (preset_ == QStringLiteral("router")) {
    // Without a router the engine would run these layers FA; show that rather than "router decides".
    engine::RoutingPolicy policy;
    policy.preset = has_router_ ? "router" : "fa";
    policy.threshold = router_threshold_;
    policy.sparse = sparse_;
    p = engine::resolve(policy, n_layers_, {});
  } else {
    p = engine::make_preset_plan(preset_.toStdString(), n_layers_, sparse_);
  }
  for (std::size_t l = 0; l < p.layers.size() && l < overrides_.size(); ++l) {
    if (!overrides_[l]) continue;
    p.layers[l].mode = *overrides_[l];
    p.layers[l].source = engine::DecisionSource::Override;
    p.layers[l].from_router = false;
  }
  return p;
}

QString LayerTableModel::overridesText() const {
  QStringList parts;
  for (int l = 0; l < n_layers_;) {
    const auto mode = overrides_[static_cast<std::size_t>(l)];
    int end = l;
    while (end + 1 < n_layers_ && overrides_[static_cast<std::size_t>(end + 1)] == mode) ++end;
    if (mode) {
      const QString range = end == l ? QString::number(l) : QStringLiteral("%1-%2").arg(l).arg(end);
      parts << QStringLiteral("%1=%2").arg(range, QString::fromLatin1(engine::layer_mode_name(*mode)));
    }
    l = end + 1;
  }
  return parts.join(QLatin1Char(','));
}

void LayerTableModel::planEdited() {
  beginResetModel();
  plan_ = plan();
  results_.assign(static_cast<std::size_t>(n_layers_), std::nullopt);
  endResetModel();
  emit planChanged();
}

void LayerTableModel::beginRun() {
  beginResetModel();
  results_.assign(static_cast<std::size_t>(n_layers_), std::nullopt);
  endResetModel();
}

void LayerTableModel::setLayerResult(const engine::LayerReport& layer) {
  if (layer.index < 0 || layer.index >= n_layers_) return;
  results_[static_cast<std::size_t>(layer.index)] = layer;
  emit dataChanged(index(layer.index, 0), index(layer.index, ColumnCount - 1));
}

void LayerTableModel::showReport(const engine::RunReport& report) {
  beginResetModel();
  results_.assign(static_cast<std::size_t>(n_layers_), std::nullopt);
  for (const auto& l : report.layers)
    if (l.index >= 0 && l.index < n_layers_) results_[static_cast<std::size_t>(l.index)] = l;
  endResetModel();
}

bool LayerTableModel::hasResult(int layer) const {
  return layer >= 0 && layer < n_layers_ && results_[static_cast<std::size_t>(layer)].has_value();
}

}  // namespace flux::ui
