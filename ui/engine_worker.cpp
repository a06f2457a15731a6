#include "ui/engine_worker.h"

namespace flux::ui {
namespace {

// Re-emits engine events as Qt signals; runs on the worker thread, so every connection to widgets is queued.
class SignalObserver final : public engine::RunObserver {
 public:
  explicit SignalObserver(EngineWorker& worker) : worker_(worker) {}
  void on_started(const engine::RunReport& r) override { emit worker_.runStarted(r); }
  void on_layer_prefilled(const engine::LayerReport& l) override { emit worker_.layerPrefilled(l); }
  void on_token(int index, const engine::TokenReport& t) override { emit worker_.tokenDecoded(index, t); }

 private:
  EngineWorker& worker_;
};

}  // namespace

EngineWorker::EngineWorker() = default;
EngineWorker::~EngineWorker() = default;

void EngineWorker::registerTypes() {
  qRegisterMetaType<flux::engine::RunReport>();
  qRegisterMetaType<flux::engine::LayerReport>();
  qRegisterMetaType<flux::engine::TokenReport>();
  qRegisterMetaType<flux::engine::ModelSummary>();
  qRegisterMetaType<flux::engine::RunRequest>();
}

void EngineWorker::loadModel(const QString& path, const QString& backend) {
  try {
    engine::EngineOptions options;
    options.backend = backend.toStdString();
    engine_.reset();
    engine_ = engine::Engine::load(
        path.toStdString(), options,
        [this](double f, const std::string& what) { emit loadProgress(f, QString::fromStdString(what)); }, &cancel_);
    emit modelLoaded(engine_->summary());
  } catch (const std::exception& e) {
    engine_.reset();
    emit failed(QString::fromStdString(e.what()));
  }
}

void EngineWorker::run(const flux::engine::RunRequest& request) {
  if (!engine_) {
    emit failed(tr("Load a model first."));
    return;
  }
  try {
    SignalObserver observer(*this);
    emit runFinished(engine_->run(request, &observer, &cancel_));
  } catch (const std::exception& e) {
    emit failed(QString::fromStdString(e.what()));
  }
}

void EngineWorker::countTokens(int ticket, const QString& prompt, bool chat, const QString& system_prompt) {
  if (!engine_) return;
  try {
    engine::RunSettings settings;
    settings.chat = chat;
    settings.system_prompt = system_prompt.toStdString();
    const auto ids = engine_->tokenize_prompt(prompt.toStdString(), settings);
    emit tokensCounted(ticket, static_cast<int>(ids.size()), engine_->context_length());
  } catch (const std::exception&) {
    emit tokensCounted(ticket, -1, engine_->context_length());
  }
}

}  // namespace flux::ui
