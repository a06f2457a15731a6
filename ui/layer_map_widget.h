// The layer map dock: the LayerTableModel in a table view plus the plan controls — presets, first-k, the SA kind
// with every parameter of the engine's RouteSpec (sink, window, n_last, block, stride, tau), the FA-side kind for
// checkpoints that have one, the router threshold and the decode mode — and a context menu to set Auto / Force FA /
// Force SA on the selected layers. routeSpec() is what the next run gets; the engine's resolve() plans it.
#pragma once

#include <QWidget>

#include "engine/attention/attention_plan.h"
#include "engine/routing/route_spec.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSpinBox;
class QTableView;

namespace flux::ui {

class ElidedLabel;
class LayerTableModel;

class LayerMapWidget : public QWidget {
  Q_OBJECT
 public:
  explicit LayerMapWidget(LayerTableModel* model, QWidget* parent = nullptr);

  QTableView* view() const { return view_; }
  // Sets the preset controls from a preset string ("router", "fa", "sa", "first-k:N", "every-other").
  void setPreset(const QString& preset);
  // The loaded model's router: offers the "Router" preset only when there is one. With `select`, a model with a
  // router starts on that preset (the app's default, like the CLI's); without a router, "router" falls back to FA.
  void setRouterAvailable(bool available, bool select);
  // The router's threshold and family (the threshold control is enabled only with a router).
  void setRouter(bool present, float threshold, bool flux_family);
  // What FA means by default for this checkpoint; the FA-kind control is offered when it is XAttention.
  void setDense(const engine::AttentionPlan& dense);
  // The preset values offered right now, in order (e.g. "router", "fa", ...).
  QStringList presets() const;
  // One line on the next run's plan above the table, e.g. "Next run: 4 FA · 26 SA (streaming) · 4 overridden".
  QString planSummary() const;
  ElidedLabel* planLine() const { return plan_summary_; }
  // "streaming", "triangle" or "xattn"; false for anything else.
  bool setSparseKind(const QString& kind);
  // Sets the SA kind and its parameters (sink, window, n_last, block, stride, tau, decode mode).
  void setSparse(const engine::AttentionPlan& sparse);
  // Applies Auto (nullopt) / Force FA / Force SA to the selected rows.
  void forceSelected(int mode /* -1 auto, 0 FA, 1 SA */);

  // The next run's RouteSpec: the model's preset and overrides plus every parameter set here.
  engine::RouteSpec routeSpec() const;
  // Sets every control from a spec (File → Load Route…); throws engine::Error when the engine's resolve() rejects
  // it for this model (e.g. an override past the last layer); nothing changes then.
  void applyRouteSpec(const engine::RouteSpec& spec);
  // The parameters persist in QSettings ("plan/..."); overrides do not (they belong to one model's layers).
  void saveSettings() const;
  void restoreSettings();

  QComboBox* faKind() const { return fa_kind_; }
  QComboBox* decodeMode() const { return decode_; }
  QSpinBox* nLast() const { return n_last_; }
  QSpinBox* block() const { return block_; }
  QSpinBox* stride() const { return stride_; }
  QDoubleSpinBox* tau() const { return tau_; }
  QDoubleSpinBox* threshold() const { return threshold_; }

 private:
  void applyPreset();
  void applySparse();
  void showMenu(const QPoint& pos);
  void updatePlanSummary();

  LayerTableModel* model_;
  QTableView* view_ = nullptr;
  QComboBox* preset_ = nullptr;
  QSpinBox* first_k_ = nullptr;
  QComboBox* kind_ = nullptr;
  QSpinBox* sink_ = nullptr;
  QSpinBox* window_ = nullptr;
  QSpinBox* n_last_ = nullptr;
  QSpinBox* block_ = nullptr;
  QSpinBox* stride_ = nullptr;
  QDoubleSpinBox* tau_ = nullptr;
  QComboBox* fa_kind_ = nullptr;
  QComboBox* decode_ = nullptr;
  QDoubleSpinBox* threshold_ = nullptr;
  ElidedLabel* plan_summary_ = nullptr;
  QString param_error_;  // why the parameters were not applied (e.g. block not a multiple of stride)
  bool flux_family_ = false;
  bool applying_ = false;  // applyRouteSpec / setSparse set several controls: apply once at the end
};

}  // namespace flux::ui
