#include "ui/layer_table_model.h"

#include <QColor>

#include "engine/routing/route_spec.h"

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
  static const char* names[] = {"Layer",      "Mode",    "Attention", "Router P(FA)", "Source",
                                "Prefill ms", "Attn ms", "Density",   "KV KiB"};
  return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

QVariant LayerTableModel::data(const QModelIndex& index, int role) const {
  if (!index.isValid() || index.row() >= n_layers_) return {};
  const auto row = static_cast<std::size_t>(index.row());
  const engine::LayerRoute& route = plan_.layers[row];
  const std::optional<engine::LayerReport>& result = results_[row];
  const LayerMode mode = result ? result->mode : route.mode;
  const std::optional<engine::RouterScore> score = result ? result->router_score : route.router_score;
  const bool has_prob = score.has_value();
  const double prob = has_prob ? score->fa_prob() : 0.0;
  const float threshold = result ? result->router_threshold : route.router_threshold;
  // Before the run, a layer left to the router has no mode yet: the router decides it during prefill.
  const bool undecided = !result && route.from_router;
  const engine::DecisionSource source = result ? result->source : route.source;
  // The router ran but an override decided: its score is an opinion, shown greyed.
  const bool advisory = has_prob && source != engine::DecisionSource::Router;
  const QString kind = result ? QString::fromStdString(result->attention)
                              : QString::fromLatin1(engine::attention_mode_name(plan_.attention_of(mode).mode));
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
        return has_prob ? QString::number(prob, 'f', 2) : undecided ? tr("router decides") : QStringLiteral("—");
      case ColSource:
        return QString::fromLatin1(engine::decision_source_name(source));
      case ColPrefillMs:
        return result ? QString::number(result->prefill_ms, 'f', 2) : QString();
      case ColAttentionMs:
        return result ? QString::number(result->attention_ms, 'f', 2) : QString();
      case ColDensity:
        return result ? QString::number(result->density, 'f', 3) : QString();
      case ColKv:
        return result ? QString::number(double(result->kv_bytes) / 1024.0, 'f', 1) : QString();
      default:
        return {};
    }
  }
  if (role == AdvisoryRole && col == ColRouterProb) return advisory;
  if (role == RawRole) {
    switch (col) {
      case ColMode:
        return undecided ? QStringLiteral("auto") : QString::fromLatin1(engine::layer_mode_name(mode));
      case ColRouterProb:
        return has_prob ? QVariant(prob) : QVariant();
      case ColPrefillMs:
        return result ? QVariant(result->prefill_ms) : QVariant();
      case ColAttentionMs:
        return result ? QVariant(result->attention_ms) : QVariant();
      case ColDensity:
        return result ? QVariant(result->density) : QVariant();
      case ColKv:
        return result ? QVariant(qulonglong(result->kv_bytes)) : QVariant();
      default:
        return data(index, Qt::DisplayRole);
    }
  }
  if (role == Qt::BackgroundRole && col == ColMode) return undecided ? QColor(Qt::gray) : modeColor(mode);
  if (role == Qt::ForegroundRole && col == ColMode) return QColor(Qt::white);
  if (role == Qt::ForegroundRole && col == ColRouterProb && advisory) return QColor(Qt::gray);
  if (role == Qt::TextAlignmentRole && col != ColSaKind && col != ColSource)
    return int(Qt::AlignRight | Qt::AlignVCenter);
  if (role == Qt::ToolTipRole) {
    const QString rule = router_flux_ ? tr("FA iff P(FA) > %1").arg(double(threshold), 0, 'f', 2)
                                      : tr("SA iff P(SA) > %1").arg(double(threshold), 0, 'f', 2);
    if (undecided)
      return tr("Layer %1: the router decides FA or SA during prefill (%2)").arg(index.row()).arg(rule);
    if (advisory)
      return tr("Layer %1: %2 (%3), forced by %4 — the router's own opinion (not applied): P(FA) = %5, "
                "P(SA) = %6, it would have chosen %7 (%8)")
          .arg(index.row())
          .arg(QString::fromLatin1(engine::layer_mode_name(mode)), kind,
               QString::fromLatin1(engine::decision_source_name(source)))
          .arg(prob, 0, 'f', 3)
          .arg(1.0 - prob, 0, 'f', 3)
          .arg(QString::fromLatin1(engine::layer_mode_name(engine::decide_layer(*score, threshold))), rule);
    if (score && source == engine::DecisionSource::Router)
      return tr("Layer %1: %2 (%3) — router score P(FA) = %4, P(SA) = %5; rule: %6; source: router%7")
          .arg(index.row())
          .arg(QString::fromLatin1(engine::layer_mode_name(mode)), kind)
          .arg(prob, 0, 'f', 3)
          .arg(1.0 - prob, 0, 'f', 3)
          .arg(rule, result ? tr(" — measured") : QString());
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

void LayerTableModel::setRouter(bool present, float threshold, bool flux_family) {
  has_router_ = present;
  router_threshold_ = threshold;
  router_flux_ = flux_family;
  planEdited();
}

void LayerTableModel::setSparse(const engine::AttentionPlan& sparse) {
  sparse_ = sparse;
  planEdited();
}

void LayerTableModel::setDense(const engine::AttentionPlan& dense) {
  dense_ = dense;
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

engine::RouteSpec LayerTableModel::routeSpec() const {
  engine::RouteSpec spec;
  // Without a router the engine would run the "router" preset all FA; say so in the spec too.
  spec.preset = preset_ == QStringLiteral("router") && !has_router_ ? std::string("fa") : preset_.toStdString();
  spec.overrides = engine::parse_overrides(overridesText().toStdString());
  if (sparse_.mode != engine::AttentionMode::Full) spec.sa_kind = sparse_.mode;
  spec.sink = sparse_.sink;
  spec.window = sparse_.window;
  spec.n_last = sparse_.n_last;
  spec.threshold = router_threshold_;
  return spec;
}

engine::RoutingPlan LayerTableModel::plan() const {
  engine::RouteDefaults defaults;
  defaults.sparse = sparse_;
  defaults.dense = dense_;
  defaults.decode = sparse_.decode;
  defaults.has_router = has_router_;
  defaults.threshold = router_threshold_;
  return engine::resolve(routeSpec(), std::max(n_layers_, 1), defaults);
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
  emit runBegan();
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
  emit reportShown(report);
}

bool LayerTableModel::hasResult(int layer) const {
  return layer >= 0 && layer < n_layers_ && results_[static_cast<std::size_t>(layer)].has_value();
}

}  // namespace flux::ui
