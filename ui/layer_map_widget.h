// The layer map dock: the LayerTableModel in a table view plus the plan controls (presets, first-k spin box,
// SA kind with sink/window) and a context menu to set Auto / Force FA / Force SA on the selected layers.
#pragma once

#include <QWidget>

#include "engine/attention/attention_plan.h"

class QComboBox;
class QLabel;
class QSpinBox;
class QTableView;

namespace flux::ui {

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
  // The preset values offered right now, in order (e.g. "router", "fa", ...).
  QStringList presets() const;
  // One line on the next run's plan above the table, e.g. "Next run: 4 FA · 26 SA (streaming) · 4 overridden".
  QString planSummary() const;
  // "streaming", "triangle" or "xattn"; false for anything else.
  bool setSparseKind(const QString& kind);
  // Sets the SA kind, sink and window controls (and so the model's sparse plan).
  void setSparse(const engine::AttentionPlan& sparse);
  // Applies Auto (nullopt) / Force FA / Force SA to the selected rows.
  void forceSelected(int mode /* -1 auto, 0 FA, 1 SA */);

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
  QLabel* plan_summary_ = nullptr;
};

}  // namespace flux::ui
