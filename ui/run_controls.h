// The run parameters panel: max new tokens, sampling (temperature, top-k, top-p, seed), chat template and system
// prompt; converts to and from engine::RunSettings and persists itself in QSettings.
#pragma once

#include <QWidget>

#include "engine/runtime/run_report.h"

class QCheckBox;
class QDoubleSpinBox;
class QLineEdit;
class QSpinBox;

namespace flux::ui {

class RunControls : public QWidget {
  Q_OBJECT
 public:
  explicit RunControls(QWidget* parent = nullptr);

  // Everything but route/overrides (those come from the layer map).
  engine::RunSettings settings() const;
  void setSettings(const engine::RunSettings& s);
  void save() const;
  void restore();

  QSpinBox* maxTokens() const { return max_tokens_; }
  QCheckBox* chat() const { return chat_; }
  QLineEdit* systemPrompt() const { return system_; }

 signals:
  // The prompt's tokenization may change (chat toggle, system prompt).
  void tokenizationChanged();

 private:
  QSpinBox* max_tokens_ = nullptr;
  QDoubleSpinBox* temperature_ = nullptr;
  QSpinBox* top_k_ = nullptr;
  QDoubleSpinBox* top_p_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QCheckBox* chat_ = nullptr;
  QLineEdit* system_ = nullptr;
};

}  // namespace flux::ui
