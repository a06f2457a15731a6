// Tools → Needle Sweep…: the grid to run — contexts (tokens; "1K" = 1024), depths (%), routes (router, fa, each SA
// kind, the layer map's current plan, the static baselines first-k:match / random:match at the router's SA share, a
// route file such as the best fixed layer set, another router file such as the previous Elastic one), max new
// tokens — and the grids saved in the runs folder to reopen instead.
// The values are kept in the settings for the next time.
#pragma once

#include <QDialog>
#include <QStringList>

#include <vector>

#include "ui/needle_grid.h"

class QCheckBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QSpinBox;

namespace flux::ui {

// "1K, 2K, 300" → {1024, 2048, 300}; empty with *error set when an item is not a positive whole number.
std::vector<int> parseNeedleList(const QString& text, bool k_suffix, QString* error);
// fluxscope --needle-grid CONTEXTS/DEPTHS/ROUTES: the first two '/' end the contexts and the depths, so the routes
// (comma-separated) may name paths with '/' in them (file:/runs/best.json, router-file:/routers/old.safetensors).
// Empty routes with *error set when a part does not parse.
NeedleGridSpec parseNeedleGridArgument(const QString& text, QString* error);
// The previously shipped router of the router folders' previous/ (the Elastic one), empty when there is none.
QString previousRouterFile();

class NeedleGridDialog : public QDialog {
  Q_OBJECT
 public:
  // plan: the layer map's route as text (the "current plan" route); saved: grid files, oldest first.
  NeedleGridDialog(bool has_router, const QString& plan, const QStringList& saved, QWidget* parent = nullptr);
  // The grid the fields describe; error set (and the spec empty) when a field does not parse.
  NeedleGridSpec spec(QString* error) const;
  // The saved grid picked with "Open saved grid" (the dialog then ends with Accepted and spec() is not used).
  QString chosenGrid() const { return chosen_; }
  QLineEdit* contexts() const { return contexts_; }
  QLineEdit* depths() const { return depths_; }
  QSpinBox* maxTokens() const { return max_tokens_; }
  QSpinBox* randomSeeds() const { return random_seeds_; }
  QLineEdit* routeFile() const { return route_file_; }
  QLineEdit* otherRouter() const { return other_router_; }
  QCheckBox* route(const QString& name) const;

 private:
  void updateCount();
  void saveSettings() const;
  QLineEdit* contexts_ = nullptr;
  QLineEdit* depths_ = nullptr;
  QSpinBox* max_tokens_ = nullptr;
  QSpinBox* random_seeds_ = nullptr;
  QLineEdit* route_file_ = nullptr;
  QLineEdit* other_router_ = nullptr;
  std::vector<QCheckBox*> routes_;
  QLabel* count_ = nullptr;
  QListWidget* saved_ = nullptr;
  QString chosen_;
};

}  // namespace flux::ui
