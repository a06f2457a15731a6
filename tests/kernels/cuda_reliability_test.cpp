// Reliability on the GPU at the 8B shape (random Qwen3-8B weights, 16 GB): a request too large for the device is an
// Error naming the out-of-memory condition, the pool's usage returns to where it was and the engine keeps working;
// a cancel raised after the first layer of a 128K-token prefill stops the run before the next layer starts.
#include <atomic>
#include <chrono>
#include <numeric>

#include "engine/runtime/engine.h"
#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {
namespace {

std::unique_ptr<Engine> load_8b(int context_length) {
  EngineOptions options;
  options.random_weights = "qwen3-8b";
  options.backend = "cuda";
  options.context_length = context_length;
  return Engine::load("", options);
}

RunRequest tokens_request(int64_t n_prompt, int max_new) {
  RunRequest r;
  r.prompt_tokens.resize(static_cast<std::size_t>(n_prompt));
  for (std::size_t i = 0; i < r.prompt_tokens.size(); ++i) r.prompt_tokens[i] = static_cast<int32_t>(i * 7919 % 150000);
  r.settings.max_new_tokens = max_new;
  r.prefill_chunk = 16384;
  r.route.preset = "fa";
  return r;
}

TEST(CudaReliability, AMillionTokenRequestIsAnOutOfMemoryErrorAndTheEngineStaysUsable) {
  FLUX_REQUIRE_GPU();
  auto engine = load_8b((1 << 20) + 64);
  const std::size_t baseline = engine->backend().device_memory().in_use;
  std::string message;
  try {
    engine->run(tokens_request(1 << 20, 1));  // 1M positions of KV: ~151 GB at this shape
  } catch (const Error& e) {
    message = e.what();
  }
  EXPECT_NE(message.find("out of memory"), std::string::npos) << "message: " << message;
  EXPECT_EQ(engine->backend().device_memory().in_use, baseline) << "the failed request left device memory allocated";
  const RunReport ok = engine->run(tokens_request(512, 4));
  EXPECT_EQ(ok.status, "ok");
  EXPECT_EQ(ok.tokens.size(), 4u);
  // The first run leaves the backend's caches (sampling scratch, RoPE tables); a second run adds nothing.
  const std::size_t after_first = engine->backend().device_memory().in_use;
  EXPECT_EQ(engine->run(tokens_request(512, 4)).status, "ok");
  EXPECT_EQ(engine->backend().device_memory().in_use, after_first);
  std::cout << "[metric] 1M-token request on qwen3-8b: \"" << message << "\"\n";
}

// Cancels from the observer once layer 0 is prefilled; the engine checks the flag before each layer.
class CancelAfterFirstLayer : public RunObserver {
 public:
  explicit CancelAfterFirstLayer(std::atomic<bool>& cancel) : cancel_(cancel) {}
  void on_layer_prefilled(const LayerReport& layer) override {
    if (layer.index == 0) {
      first_layer_ms = layer.prefill_ms;
      cancel_.store(true);
      cancelled_at = std::chrono::steady_clock::now();
    }
  }
  double first_layer_ms = 0.0;
  std::chrono::steady_clock::time_point cancelled_at;

 private:
  std::atomic<bool>& cancel_;
};

TEST(CudaReliability, CancelDuringA128kPrefillStopsBeforeTheNextLayer) {
  FLUX_REQUIRE_GPU();
  auto engine = load_8b(131072 + 64);
  std::atomic<bool> cancel{false};
  CancelAfterFirstLayer observer(cancel);
  const RunReport r = engine->run(tokens_request(131072, 8), &observer, &cancel);
  const double returned_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - observer.cancelled_at).count();
  EXPECT_EQ(r.status, "cancelled");
  EXPECT_EQ(r.layers.size(), 1u) << "layers prefilled after the cancel";
  EXPECT_TRUE(r.tokens.empty());
  std::cout << "[metric] 128K cancel: one layer " << observer.first_layer_ms << " ms, control back " << returned_ms
            << " ms after the cancel\n";
  const RunReport again = engine->run(tokens_request(256, 2));
  EXPECT_EQ(again.status, "ok");
}

}  // namespace
}  // namespace flux::engine::testing_gpu
