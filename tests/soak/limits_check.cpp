// The GPU limits of docs/reliability.md, run by hand on the GPU machine on a random-weight model (any backend works;
// on the CPU only small sizes make sense):
//   --oom-tokens N     a request of N prompt tokens (1M on an 8B shape needs ~128 GB of KV cache) must fail with an
//                      Error that says "out of memory", leave the device memory in use where it was before the
//                      request (to the byte), and a small run right after it must succeed on the same engine.
//   --cancel-tokens N  a prefill of N tokens is cancelled from another thread half-way through layer 2; prints the
//                      time from the cancel to run() returning and the slowest layer's prefill time, and fails when
//                      the first exceeds the second (the engine checks the flag before every layer).
// Exit status 0 when the check holds, 1 when it does not.
//
// Usage: flux_limits_check [--backend cuda] [--random llama3.1-8b] (--oom-tokens N | --cancel-tokens N)
//                          [--prefill-chunk ROWS]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "engine/core/error.h"
#include "engine/runtime/engine.h"

namespace {

using namespace flux::engine;
using Clock = std::chrono::steady_clock;

double mib(std::size_t bytes) {
  return static_cast<double>(bytes) / (1024.0 * 1024.0);
}

std::vector<int32_t> token_ids(int64_t n, int vocab) {
  std::vector<int32_t> ids(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = static_cast<int32_t>((i * 7919 + 13) % vocab);
  return ids;
}

int check_oom(Engine& engine, int64_t tokens, int64_t chunk) {
  const DeviceMemory before = engine.backend().device_memory();
  std::printf("device memory in use before the request: %.1f MiB (device free %.1f of %.1f MiB)\n", mib(before.in_use),
              mib(before.device_free), mib(before.device_total));
  RunRequest request;
  request.prompt_tokens = token_ids(tokens, engine.config().vocab_size);
  request.settings.max_new_tokens = 1;
  request.prefill_chunk = chunk;
  bool refused = false;
  const auto t0 = Clock::now();
  try {
    const RunReport report = engine.run(request);
    std::printf("the %lld-token request ran (status %s): no out-of-memory to check on this device\n",
                static_cast<long long>(tokens), report.status.c_str());
  } catch (const Error& e) {
    refused = true;
    std::printf("error after %.0f ms: %s\n", std::chrono::duration<double, std::milli>(Clock::now() - t0).count(),
                e.what());
    if (std::string(e.what()).find("out of memory") == std::string::npos) {
      std::fprintf(stderr, "limits: the error does not say 'out of memory'\n");
      return 1;
    }
  }
  const DeviceMemory after = engine.backend().device_memory();
  std::printf("device memory in use after the request: %.1f MiB\n", mib(after.in_use));
  RunRequest small;
  small.prompt_tokens = token_ids(16, engine.config().vocab_size);
  small.settings.max_new_tokens = 4;
  const RunReport report = engine.run(small);
  const DeviceMemory end = engine.backend().device_memory();
  std::printf("a 16-token run afterwards: status %s, %zu tokens; device memory in use %.1f MiB\n",
              report.status.c_str(), report.tokens.size(), mib(end.in_use));
  if (!refused) return 1;
  if (after.in_use != before.in_use) {
    std::fprintf(stderr, "limits: %zu bytes stayed in use after the failed request\n", after.in_use - before.in_use);
    return 1;
  }
  return report.status == "ok" && report.tokens.size() == 4 ? 0 : 1;
}

// Cancels from a second thread half-way through layer 2 (layer 1's time tells how long a layer takes).
class MidLayerCanceller : public RunObserver {
 public:
  explicit MidLayerCanceller(std::atomic<bool>& cancel) : cancel_(cancel) {
    thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [this] { return layer_ms_ >= 0.0 || done_; });
      if (done_) return;
      const auto wait = std::chrono::duration<double, std::milli>(layer_ms_ / 2);
      lock.unlock();
      std::this_thread::sleep_for(wait);
      cancelled_at_ = Clock::now();
      cancel_.store(true);
    });
  }
  ~MidLayerCanceller() override { finish(); }
  void finish() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void on_layer_prefilled(const LayerReport& layer) override {
    std::printf("layer %d prefilled in %.1f ms\n", layer.index, layer.prefill_ms);
    std::fflush(stdout);
    if (layer.index != 1) return;
    std::lock_guard lock(mutex_);
    layer_ms_ = layer.prefill_ms;
    cv_.notify_all();
  }
  Clock::time_point cancelled_at() const { return cancelled_at_; }

 private:
  std::atomic<bool>& cancel_;
  std::mutex mutex_;
  std::condition_variable cv_;
  double layer_ms_ = -1.0;
  bool done_ = false;
  Clock::time_point cancelled_at_{};
  std::thread thread_;
};

int check_cancel(Engine& engine, int64_t tokens, int64_t chunk) {
  RunRequest request;
  request.prompt_tokens = token_ids(tokens, engine.config().vocab_size);
  request.settings.max_new_tokens = 1;
  request.prefill_chunk = chunk;
  std::atomic<bool> cancel{false};
  MidLayerCanceller canceller(cancel);
  const RunReport report = engine.run(request, &canceller, &cancel);
  const auto returned = Clock::now();
  canceller.finish();
  if (report.status != "cancelled") {
    std::fprintf(stderr, "limits: the run was not cancelled (status %s)\n", report.status.c_str());
    return 1;
  }
  double slowest = 0.0;
  for (const auto& l : report.layers) slowest = std::max(slowest, l.prefill_ms);
  const double latency = std::chrono::duration<double, std::milli>(returned - canceller.cancelled_at()).count();
  std::printf("%lld-token prefill cancelled after %zu of %d layers: cancel -> return %.1f ms, slowest layer %.1f ms\n",
              static_cast<long long>(tokens), report.layers.size(), engine.config().n_layers, latency, slowest);
  return latency <= slowest ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  EngineOptions options;
  options.backend = "cuda";
  options.random_weights = "llama3.1-8b";
  int64_t oom_tokens = 0, cancel_tokens = 0, chunk = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--backend")
      options.backend = value;
    else if (flag == "--random")
      options.random_weights = value;
    else if (flag == "--oom-tokens")
      oom_tokens = std::atoll(value);
    else if (flag == "--cancel-tokens")
      cancel_tokens = std::atoll(value);
    else if (flag == "--prefill-chunk")
      chunk = std::atoll(value);
  }
  if ((oom_tokens > 0) == (cancel_tokens > 0)) {
    std::fprintf(stderr,
                 "usage: %s [--backend cuda] [--random llama3.1-8b] (--oom-tokens N | --cancel-tokens N) "
                 "[--prefill-chunk ROWS]\n",
                 argv[0]);
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  try {
    options.context_length = static_cast<int>(std::max(oom_tokens, cancel_tokens) + 16);
    const auto engine = Engine::load("", options);
    std::printf("%s on %s (%s)\n", engine->summary().name.c_str(), engine->backend().name().c_str(),
                engine->backend().device_name().c_str());
    return oom_tokens > 0 ? check_oom(*engine, oom_tokens, chunk) : check_cancel(*engine, cancel_tokens, chunk);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "limits: %s\n", e.what());
    return 1;
  }
}
