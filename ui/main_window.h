// The FluxScope main window (first cut): model loading, prompt, run/stop, streamed output and the per-layer table.
// Everything engine-side goes through EngineWorker on its own thread.
#pragma once

#include <QMainWindow>
#include <QThread>

#include "engine/runtime/engine.h"

class QCheckBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace flux::ui {

class EngineWorker;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  MainWindow();
  ~MainWindow() override;

  void openModel(const QString& path);
  void setPrompt(const QString& text);
  void startRun();

 signals:
  void modelReady();
  void runCompleted(const flux::engine::RunReport& report);
  void errorShown(const QString& message);
  void requestLoad(const QString& path, const QString& backend);
  void requestRun(const flux::engine::RunRequest& request);

 private:
  void onModelLoaded(const flux::engine::ModelSummary& summary);
  void onLayer(const flux::engine::LayerReport& layer);
  void onToken(int index, const flux::engine::TokenReport& token);
  void onFinished(const flux::engine::RunReport& report);
  void onFailed(const QString& message);
  void setBusy(bool busy);

  QThread thread_;
  EngineWorker* worker_ = nullptr;
  QLabel* model_label_ = nullptr;
  QPlainTextEdit* prompt_ = nullptr;
  QPlainTextEdit* output_ = nullptr;
  QTableWidget* layers_ = nullptr;
  QCheckBox* chat_ = nullptr;
  QSpinBox* max_tokens_ = nullptr;
  QPushButton* run_ = nullptr;
  QPushButton* stop_ = nullptr;
  int n_layers_ = 0;
};

}  // namespace flux::ui
