// What a run holds in memory — weights, KV per layer (reserved, kept, read by a decode step, reserved for new tokens),
// workspace — and the KV saving against running every layer dense. estimate_memory() predicts it from the plan
// before a run with the KvCache's own sizing rules (kv_cache.h); Engine::run measures it from the KvCache after.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/model/model_config.h"
#include "engine/routing/routing_plan.h"

namespace flux::engine {

// All sizes in bytes (K and V together).
struct LayerMemory {
  std::size_t kv_reserved = 0;    // allocated for the layer after prefill
  std::size_t kv_kept = 0;        // of it, the rows holding a position at the end of the run
  std::size_t kv_read = 0;        // the rows the newest decode step reads
  std::size_t kv_new_tokens = 0;  // of kv_reserved: the rows beyond the prompt, reserved for tokens still to come
  bool evicted = false;           // a streaming ring (FluxScope decode mode): positions before the window are dropped
  bool router_decides = false;    // estimate only: the router decides this layer at run time (counted FA: upper bound)

  bool operator==(const LayerMemory&) const = default;
};

struct MemoryReport {
  bool measured = false;            // false: an estimate from the plan before the run
  std::size_t weights = 0;          // bytes the backend holds for the decoder's weights
  std::size_t workspace = 0;        // activations/scratch at the run's peak (see workspace_measured)
  bool workspace_measured = false;  // true: device peak - weights - KV (CUDA); false: not tracked (CPU, estimates): 0
  std::size_t kv_all_fa = 0;        // KV every layer dense would reserve for the same prompt and max_new_tokens
  std::vector<LayerMemory> layers;

  std::size_t kv_reserved_total() const;
  std::size_t kv_kept_total() const;
  std::size_t kv_read_total() const;
  std::size_t total() const;  // weights + kv_reserved_total + workspace
  double kv_saving() const;   // 1 - kv_reserved_total / kv_all_fa (0 when kv_all_fa == 0)

  bool operator==(const MemoryReport&) const = default;
};

// The KV of a run of `plan` on a model of `config` that generates every one of max_new_tokens (kept and read are
// its state after the last one: a run stopped early by EOS keeps less). Layers the router decides are counted FA.
// context_length: the engine's context (the session holds min(context, prompt + max_new) positions).
// kv_bytes_per_element: the backend's (Backend::bytes_per_element). Weights and workspace stay 0 (Engine fills them).
MemoryReport estimate_memory(const ModelConfig& config, const RoutingPlan& plan, int64_t prompt_tokens,
                             int max_new_tokens, int64_t context_length, std::size_t kv_bytes_per_element);

class KvCache;
// The KV part of a run's measured report, from its cache after the run: per layer what it holds, and kv_all_fa for
// its capacity. Weights and workspace stay 0 (Engine::run fills them).
MemoryReport measure_kv_memory(const KvCache& kv, int64_t prompt_tokens);

nlohmann::json memory_report_to_json(const MemoryReport& memory);
// Throws Error for malformed data.
MemoryReport memory_report_from_json(const nlohmann::json& j);

}  // namespace flux::engine
