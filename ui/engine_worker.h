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

 public slots:
  void loadModel(const QString& path, const QString& backend);
  void run(const flux::engine::RunRequest& request);

 signals:
  void loadProgress(double fraction, const QString& what);
  void modelLoaded(const flux::engine::ModelSummary& summary);
  void runStarted(const flux::engine::RunReport& header);
  void layerPrefilled(const flux::engine::LayerReport& layer);
  void tokenDecoded(int index, const flux::engine::TokenReport& token);
  void runFinished(const flux::engine::RunReport& report);
  void failed(const QString& message);

 private:
  std::unique_ptr<engine::Engine> engine_;
  std::atomic<bool> cancel_{false};
};

}  // namespace flux::ui
