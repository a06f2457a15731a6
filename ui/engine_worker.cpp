#include "ui/engine_worker.h"

#include <QElapsedTimer>

#include "engine/routing/layer_router.h"
#include "engine/routing/router_file.h"

namespace flux::ui {
namespace {

std::mutex g_default_dirs_mutex;
std::vector<std::filesystem::path> g_default_dirs;

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

QString RouterInfo::label() const {
  if (!present()) return QObject::tr("router: none");
  if (source == QStringLiteral("checkpoint")) return QObject::tr("router: checkpoint");
  return QObject::tr("router: %1")
      .arg(QString::fromStdString(std::filesystem::path(source.toStdString()).filename().string()));
}

EngineWorker::EngineWorker() {
  const std::lock_guard lock(g_default_dirs_mutex);
  router_dirs_ = g_default_dirs;
}
EngineWorker::~EngineWorker() = default;

void EngineWorker::setRouterDirs(const std::vector<std::filesystem::path>& dirs) {
  const std::lock_guard lock(dirs_mutex_);
  router_dirs_ = dirs;
}

void EngineWorker::setLoadSettings(int threads, int context_length) {
  const std::lock_guard lock(dirs_mutex_);
  threads_ = threads;
  context_length_ = context_length;
}

void EngineWorker::setDefaultRouterDirs(const std::vector<std::filesystem::path>& dirs) {
  const std::lock_guard lock(g_default_dirs_mutex);
  g_default_dirs = dirs;
}

void EngineWorker::registerTypes() {
  qRegisterMetaType<flux::engine::RunReport>();
  qRegisterMetaType<flux::engine::LayerReport>();
  qRegisterMetaType<flux::engine::TokenReport>();
  qRegisterMetaType<flux::engine::ModelSummary>();
  qRegisterMetaType<flux::engine::MemoryReport>();
  qRegisterMetaType<flux::engine::RunRequest>();
  qRegisterMetaType<flux::ui::RouterInfo>();
  qRegisterMetaType<flux::ui::NeedleGridSpec>();
  qRegisterMetaType<flux::ui::NeedleCell>();
  qRegisterMetaType<flux::ui::NeedleGrid>();
  qRegisterMetaType<flux::ui::BaselineResult>();
  qRegisterMetaType<std::vector<flux::ui::BaselineRoute>>();
}

void EngineWorker::loadModel(const QString& path, const QString& backend) {
  try {
    engine::EngineOptions options;
    options.backend = backend.toStdString();
    {
      const std::lock_guard lock(dirs_mutex_);
      options.router_dirs = router_dirs_;
      options.threads = threads_;
      options.context_length = context_length_;
    }
    // Load next to the current model and swap only on success: a file that fails to open never unloads it.
    std::unique_ptr<engine::Engine> next = engine::Engine::load(
        path.toStdString(), options,
        [this](double f, const std::string& what) { emit loadProgress(f, QString::fromStdString(what)); }, &cancel_);
    engine_ = std::move(next);
    RouterInfo router;
    if (const engine::LayerRouter* r = engine_->router()) {
      router.source = QString::fromStdString(engine_->router_source());
      router.threshold = r->config().threshold;
      router.defaults = engine_->route_defaults();
      router.sparse = router.defaults.sparse;
      router.description = QString::fromStdString(engine::describe_router(r->config(), r->softmax_head()));
      router.flux_family = r->family() == engine::RouterFamily::Flux;
    }
    emit routerLoaded(router);
    emit modelLoaded(engine_->summary());
  } catch (const std::exception& e) {
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

void EngineWorker::countTokens(int ticket, const QString& prompt, bool chat, const QString& system_prompt,
                               bool parse_special) {
  if (!engine_) return;
  try {
    QElapsedTimer clock;
    clock.start();
    engine::RunSettings settings;
    settings.chat = chat;
    settings.system_prompt = system_prompt.toStdString();
    settings.parse_special = parse_special;
    const auto ids = engine_->tokenize_prompt(prompt.toStdString(), settings);
    emit tokensCounted(ticket, static_cast<int>(ids.size()), engine_->context_length(),
                       double(clock.nsecsElapsed()) / 1e6);
  } catch (const std::exception&) {
    emit tokensCounted(ticket, -1, engine_->context_length(), 0.0);
  }
}

void EngineWorker::estimateMemory(int ticket, const flux::engine::RunRequest& request) {
  if (!engine_) return;
  try {
    emit memoryEstimated(ticket, engine_->estimate_memory(request), QString());
  } catch (const std::exception& e) {
    emit memoryEstimated(ticket, engine::MemoryReport{}, QString::fromUtf8(e.what()));
  }
}

}  // namespace flux::ui
