// The only bridge between the GUI and the engine: a QObject living on its own QThread that owns the Engine.
// Requests arrive as queued slot calls, results leave as signals carrying plain value types; the GUI never blocks.
#pragma once

#include <QObject>
#include <QString>

#include <atomic>
#include <memory>

#include "engine/runtime/engine.h"

Q_DECLARE_METATYPE(flux::engine::RunReport)
Q_DECLARE_METATYPE(flux::engine::LayerReport)
Q_DECLARE_METATYPE(flux::engine::TokenReport)
Q_DECLARE_METATYPE(flux::engine::ModelSummary)
Q_DECLARE_METATYPE(flux::engine::RunRequest)

namespace flux::ui {

class EngineWorker : public QObject {
  Q_OBJECT
 public:
  EngineWorker();
  ~EngineWorker() override;
  static void registerTypes();
  // Safe from any thread: asks the current load or run to stop at the next layer or token.
  void cancel() { cancel_.store(true); }
  // Called on the GUI thread right before a load or run is queued, so a Stop pressed before the worker picks the
  // request up still cancels it (the slots never clear the flag themselves).
  void arm() { cancel_.store(false); }

 public slots:
  void loadModel(const QString& path, const QString& backend);
  void run(const flux::engine::RunRequest& request);
  // Counts the prompt's tokens as the model would see them (chat template, BOS); answers with tokensCounted.
  // `ticket` lets the GUI drop stale answers.
  void countTokens(int ticket, const QString& prompt, bool chat, const QString& system_prompt);

 signals:
  void loadProgress(double fraction, const QString& what);
  void modelLoaded(const flux::engine::ModelSummary& summary);
  void runStarted(const flux::engine::RunReport& header);
  void layerPrefilled(const flux::engine::LayerReport& layer);
  void tokenDecoded(int index, const flux::engine::TokenReport& token);
  void runFinished(const flux::engine::RunReport& report);
  void failed(const QString& message);
  void tokensCounted(int ticket, int tokens, int context_length);

 private:
  std::unique_ptr<engine::Engine> engine_;
  std::atomic<bool> cancel_{false};
};

}  // namespace flux::ui
