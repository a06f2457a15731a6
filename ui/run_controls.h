// The run parameters panel: max new tokens, sampling (temperature, top-k, top-p, seed), chat template, system
// prompt and whether the prompt's special-token spellings are parsed, Repeat ×N, and the model-load settings context size and CPU threads (changing those reloads the model);
// converts to and from engine::RunSettings and persists itself in QSettings.
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
  // Off by default: "<|im_start|>" in a pasted document stays text and cannot forge a turn (RunSettings::parse_special).
  QCheckBox* parseSpecial() const { return parse_special_; }
  // How many times Run runs the same configuration (Repeat ×N; 1 = once).
  QSpinBox* repeat() const { return repeat_; }
  // Model-load settings: context in tokens (0 = the model's) and CPU threads (0 = all cores).
  QSpinBox* contextSize() const { return context_; }
  QSpinBox* threads() const { return threads_; }

 signals:
  // The prompt's tokenization may change (chat toggle, system prompt).
  void tokenizationChanged();
  // The context size or thread count was edited: the model must be reloaded with them.
  void loadSettingsChanged();

 private:
  QSpinBox* max_tokens_ = nullptr;
  QDoubleSpinBox* temperature_ = nullptr;
  QSpinBox* top_k_ = nullptr;
  QDoubleSpinBox* top_p_ = nullptr;
  QSpinBox* seed_ = nullptr;
  QCheckBox* chat_ = nullptr;
  QLineEdit* system_ = nullptr;
  QCheckBox* parse_special_ = nullptr;
  QSpinBox* repeat_ = nullptr;
  QSpinBox* context_ = nullptr;
  QSpinBox* threads_ = nullptr;
};

}  // namespace flux::ui
