// The layer map's data: one row per transformer layer showing the routing plan of the next run (preset + user
// overrides) and, while and after a run, what each layer actually did (mode, router p, source, prefill ms, the
// attention op's own ms, attention density, KV bytes).
#pragma once

#include <QAbstractTableModel>

#include <optional>
#include <vector>

#include "engine/routing/route_spec.h"
#include "engine/runtime/run_report.h"

namespace flux::ui {

class LayerTableModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  enum Column {
    ColLayer,
    ColMode,
    ColSaKind,
    ColRouterProb,
    ColSource,
    ColPrefillMs,
    ColAttentionMs,
    ColDensity,
    ColKv,
    ColumnCount
  };
  // Raw values for delegates and tests: router probability as double (invalid when null), mode as "FA"/"SA".
  static constexpr int RawRole = Qt::UserRole + 1;
  // Router column: true when the router scored the layer but did not decide it (an override forced the mode): its
  // opinion is shown greyed.
  static constexpr int AdvisoryRole = Qt::UserRole + 2;

  explicit LayerTableModel(QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
  QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

  // Plan inputs. Each change clears shown results so the map shows the next run's plan.
  void setLayerCount(int n_layers);
  void setPreset(const QString& preset);  // "router" (when the model has one), "fa", "sa", "first-k:N", "every-other"
  // The loaded model's router: with one, preset "router" leaves Auto layers to it (decide_layer with its
  // threshold); flux_family says which side its score speaks for (Flux: FA, Elastic: SA).
  void setRouter(bool present, float threshold, bool flux_family = false);
  bool hasRouter() const { return has_router_; }
  void setSparse(const engine::AttentionPlan& sparse);
  void setDense(const engine::AttentionPlan& dense);
  // nullopt = Auto (follow the preset), otherwise Force FA / Force SA.
  void setOverride(const QList<int>& layers, std::optional<engine::LayerMode> mode);
  void clearOverrides();

  QString preset() const { return preset_; }
  const engine::AttentionPlan& sparse() const { return sparse_; }
  std::optional<engine::LayerMode> overrideOf(int layer) const;
  // The spec the next RunRequest carries (preset, overrides, SA kind and parameters, threshold) and the plan the
  // engine's resolve() makes of it, for the map.
  engine::RouteSpec routeSpec() const;
  engine::RoutingPlan plan() const;
  // The overrides in apply_overrides() syntax, e.g. "0-3=FA,7=SA" (for RunSettings.overrides and reports).
  QString overridesText() const;

  // Results: a run starts (clear results), a layer is prefilled, a run finishes or an old report is shown.
  void beginRun();
  void setLayerResult(const engine::LayerReport& layer);
  void showReport(const engine::RunReport& report);
  bool hasResult(int layer) const;

 signals:
  void planChanged();
  // The map now shows this finished report (a new run or one picked in the history) / a run began: the panels that
  // show the same run (attention map, memory) follow these.
  void reportShown(const flux::engine::RunReport& report);
  void runBegan();

 private:
  void planEdited();

  int n_layers_ = 0;
  QString preset_ = QStringLiteral("fa");
  bool has_router_ = false;
  float router_threshold_ = 0.5f;
  bool router_flux_ = false;
  engine::AttentionPlan sparse_;
  engine::AttentionPlan dense_;  // what FA means (full, or XAttention for Flux xattn_* checkpoints)
  std::vector<std::optional<engine::LayerMode>> overrides_;
  std::vector<std::optional<engine::LayerReport>> results_;
  engine::RoutingPlan plan_;  // cached plan()
};

// The colour of a mode in the map and the charts (FA blue, SA orange); colour is never the only signal.
QColor modeColor(engine::LayerMode mode);

}  // namespace flux::ui
