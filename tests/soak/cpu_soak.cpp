// CPU soak: N back-to-back runs in one process on the demo model, each doing what an afternoon in the app does —
// load, prefill cancelled mid-way from another thread, a layer override, a full re-run, a JSON export — and printing
// the resident set after each iteration. Fails (exit 1) when any step misbehaves or memory grows: RSS after the last
// iteration must not exceed RSS after iteration 2 by more than --margin-mb (docs/reliability.md explains the margin).
// Under AddressSanitizer RSS is not asserted (its quarantine holds freed memory on purpose); LeakSanitizer checks
// the same loop at exit instead.
//
// With --backend cuda the same loop runs on the GPU (the GPU soak of docs/reliability.md) and also prints the device
// memory (Backend::device_memory) per iteration: in use after load, after the cancelled run, after the re-run, and
// after the engine is gone. It fails unless the memory in use is back at its baseline (to the byte) once each
// iteration's engine is destroyed, and unless a run leaves the memory in use where the previous run left it.
//
// Usage: flux_cpu_soak MODEL [--iterations N] [--margin-mb M] [--backend cpu|cuda]
#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/runtime/engine.h"

#if defined(__SANITIZE_ADDRESS__)
#define FLUX_SOAK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FLUX_SOAK_ASAN 1
#endif
#endif

namespace {

using namespace flux::engine;

constexpr int kCancelAfterLayer = 10;  // of 30: the cancel lands in the middle of the prefill

double rss_mb() {
  long pages_total = 0, pages_resident = 0;
  std::ifstream statm("/proc/self/statm");
  statm >> pages_total >> pages_resident;
  return static_cast<double>(pages_resident) * static_cast<double>(::sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

// Cancels the run from a second thread once the prefill has passed kCancelAfterLayer: the engine thread waits in the
// observer until the flag is set, so the cancel always lands mid-prefill however fast or slow the machine is.
class MidPrefillCanceller : public RunObserver {
 public:
  explicit MidPrefillCanceller(std::atomic<bool>& cancel) : cancel_(cancel) {
    thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return reached_; });
      cancel_.store(true);
      cancelled_ = true;
      cv_.notify_all();
    });
  }
  ~MidPrefillCanceller() override {
    {
      std::lock_guard lock(mutex_);
      reached_ = true;  // releases the thread if the run never got that far
    }
    cv_.notify_all();
    thread_.join();
  }
  void on_layer_prefilled(const LayerReport& layer) override {
    if (layer.index != kCancelAfterLayer) return;
    std::unique_lock lock(mutex_);
    reached_ = true;
    cv_.notify_all();
    cv_.wait(lock, [this] { return cancelled_; });
  }

 private:
  std::atomic<bool>& cancel_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool reached_ = false, cancelled_ = false;
  std::thread thread_;
};

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("soak check failed: " + what);
}

double mib(std::size_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

// Device memory in use after each step of one iteration (all zero on the CPU backend).
struct DeviceSteps {
  std::size_t loaded = 0, cancelled = 0, rerun = 0, rerun_again = 0;
};

DeviceSteps one_iteration(const std::filesystem::path& model, const std::filesystem::path& report_path,
                          const std::string& backend) {
  DeviceSteps device;
  auto engine = Engine::load(model, EngineOptions{.backend = backend});
  device.loaded = engine->backend().device_memory().in_use;
  RunRequest request;
  request.prompt = "Summarize in one sentence why the sky looks blue during the day and red at sunset, please.";
  request.settings.max_new_tokens = 3;

  {  // prefill, cancelled mid-way from another thread
    std::atomic<bool> cancel{false};
    MidPrefillCanceller canceller(cancel);
    const RunReport cancelled = engine->run(request, &canceller, &cancel);
    check(cancelled.status == "cancelled", "the first run should be cancelled, status " + cancelled.status);
    check(cancelled.tokens.empty(), "a run cancelled in prefill decoded tokens");
  }
  device.cancelled = engine->backend().device_memory().in_use;

  // override one layer, re-run to completion
  request.route = parse_route_spec("override=3=SA");
  const RunReport report = engine->run(request);
  check(report.status == "ok", "the re-run failed: " + report.error);
  check(report.layers.size() == static_cast<std::size_t>(engine->config().n_layers), "layer count");
  check(report.layers[3].mode == LayerMode::SA && report.layers[3].source == DecisionSource::Override,
        "layer 3 override not applied");
  check(!report.tokens.empty(), "no tokens decoded");
  device.rerun = engine->backend().device_memory().in_use;
  // A second identical run: whatever the first one cached (sampling scratch, RoPE tables) is reused, so the memory
  // in use must not move at all — a run that keeps anything (KV cache, activations) shows up here.
  const RunReport again = engine->run(request);
  check(again.status == "ok" && again.output_text == report.output_text, "the second re-run differs");
  device.rerun_again = engine->backend().device_memory().in_use;
  check(device.rerun_again == device.rerun,
        fmt::format("device memory in use moved from {} to {} bytes across an identical run", device.rerun,
                    device.rerun_again));

  report.save(report_path);  // export, and read it back
  std::ifstream in(report_path);
  const RunReport back = RunReport::from_json(nlohmann::json::parse(in));
  check(back.output_text == report.output_text, "exported report differs");
  return device;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL [--iterations N] [--margin-mb M] [--backend cpu|cuda]\n", argv[0]);
    return 2;
  }
  const std::filesystem::path model = argv[1];
  int iterations = 5;
  double margin_mb = 8.0;
  std::string backend = "cpu";
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--iterations")
      iterations = std::atoi(argv[i + 1]);
    else if (flag == "--margin-mb")
      margin_mb = std::atof(argv[i + 1]);
    else if (flag == "--backend")
      backend = argv[i + 1];
  }
  if (iterations < 3) iterations = 3;
  spdlog::set_level(spdlog::level::warn);
  const auto report_path =
      std::filesystem::temp_directory_path() / ("flux-soak-" + std::to_string(::getpid()) + ".json");

  std::vector<double> rss;
  try {
    // A backend of the same kind that lives through the loop: it reads the device memory between engines (the
    // pool it reports on is the device's, shared by every backend of the process).
    const auto probe = make_backend(backend, 1);
    const DeviceMemory baseline = probe->device_memory();
    const bool on_device = baseline.device_total > 0;
    std::printf("backend %s (%s)\n", probe->name().c_str(), probe->device_name().c_str());
    if (on_device)
      std::printf("device memory at start: in use %.1f MiB, pool reserved %.1f MiB, device free %.1f of %.1f MiB\n",
                  mib(baseline.in_use), mib(baseline.reserved), mib(baseline.device_free), mib(baseline.device_total));
    std::printf("iteration rss_mb (after the engine is destroyed and malloc_trim)%s\n",
                on_device ? " | device MiB in use: loaded cancelled rerun rerun2 destroyed | device free MiB" : "");
    std::printf("start %.1f\n", rss_mb());
    for (int it = 1; it <= iterations; ++it) {
      const DeviceSteps device = one_iteration(model, report_path, backend);
      ::malloc_trim(0);  // hand freed pages back, so RSS shows what is still live rather than allocator caching
      rss.push_back(rss_mb());
      const DeviceMemory after = probe->device_memory();
      if (on_device)
        std::printf("%d %.1f | %.1f %.1f %.1f %.1f %.1f | %.1f\n", it, rss.back(), mib(device.loaded),
                    mib(device.cancelled), mib(device.rerun), mib(device.rerun_again), mib(after.in_use),
                    mib(after.device_free));
      else
        std::printf("%d %.1f\n", it, rss.back());
      std::fflush(stdout);
      check(after.in_use == baseline.in_use,
            fmt::format("iteration {}: device memory in use is {} bytes after the engine is gone, {} at start", it,
                        after.in_use, baseline.in_use));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak: %s\n", e.what());
    std::filesystem::remove(report_path);
    return 1;
  }
  std::filesystem::remove(report_path);
  const double growth = rss.back() - rss[1];
  std::printf("growth from iteration 2 to %d: %.1f MB (margin %.1f MB)\n", iterations, growth, margin_mb);
#ifdef FLUX_SOAK_ASAN
  std::printf("AddressSanitizer build: RSS not asserted; LeakSanitizer checks for leaks at exit\n");
  return 0;
#else
  if (growth > margin_mb) {
    std::fprintf(stderr, "soak: RSS grew by %.1f MB (> %.1f MB) from iteration 2 to %d\n", growth, margin_mb,
                 iterations);
    return 1;
  }
  return 0;
#endif
}
