#include "engine/runtime/memory_report.h"

#include "engine/core/error.h"
#include "engine/runtime/kv_cache.h"

namespace flux::engine {

std::size_t MemoryReport::kv_reserved_total() const {
  std::size_t sum = 0;
  for (const auto& l : layers) sum += l.kv_reserved;
  return sum;
}

std::size_t MemoryReport::kv_kept_total() const {
  std::size_t sum = 0;
  for (const auto& l : layers) sum += l.kv_kept;
  return sum;
}

std::size_t MemoryReport::kv_read_total() const {
  std::size_t sum = 0;
  for (const auto& l : layers) sum += l.kv_read;
  return sum;
}

std::size_t MemoryReport::total() const { return weights + kv_reserved_total() + workspace; }

double MemoryReport::kv_saving() const {
  if (kv_all_fa == 0) return 0.0;
  return 1.0 - static_cast<double>(kv_reserved_total()) / static_cast<double>(kv_all_fa);
}

MemoryReport estimate_memory(const ModelConfig& config, const RoutingPlan& plan, int64_t prompt_tokens,
                             int max_new_tokens, int64_t context_length, std::size_t kv_bytes_per_element) {
  require(static_cast<int>(plan.layers.size()) == config.n_layers, "memory estimate: plan of {} layers for {} layers",
          plan.layers.size(), config.n_layers);
  require(prompt_tokens >= 0 && max_new_tokens >= 0, "memory estimate: negative prompt ({}) or new tokens ({})",
          prompt_tokens, max_new_tokens);
  const int64_t capacity = run_capacity(context_length, prompt_tokens, max_new_tokens);
  const int64_t positions = run_positions(context_length, prompt_tokens, max_new_tokens);
  const std::size_t row = 2 * static_cast<std::size_t>(config.kv_dim()) * kv_bytes_per_element;
  MemoryReport m;
  for (int l = 0; l < config.n_layers; ++l) {
    const LayerRoute& route = plan.layers[static_cast<std::size_t>(l)];
    // Until the router runs the layer is FA (Session: from_router layers start as FA); FA never evicts, so this is
    // the upper bound of what the router can choose.
    const LayerMode mode = route.from_router ? LayerMode::FA : route.mode;
    const KvLayout layout = decode_layout(mode, plan.attention_of(mode), capacity);
    const int64_t reserved = reserved_rows(layout, capacity);
    LayerMemory lm;
    lm.kv_reserved = static_cast<std::size_t>(reserved) * row;
    lm.kv_kept = static_cast<std::size_t>(rows_kept(layout, positions)) * row;
    lm.kv_read = static_cast<std::size_t>(rows_read(layout, positions)) * row;
    lm.kv_new_tokens = static_cast<std::size_t>(rows_new(reserved, prompt_tokens)) * row;
    lm.evicted = layout.ring();
    lm.router_decides = route.from_router;
    m.layers.push_back(lm);
    m.kv_all_fa += static_cast<std::size_t>(reserved_rows(KvLayout{}, capacity)) * row;
  }
  return m;
}

MemoryReport measure_kv_memory(const KvCache& kv, int64_t prompt_tokens) {
  MemoryReport m;
  m.measured = true;
  for (int l = 0; l < kv.n_layers(); ++l) {
    LayerMemory lm;
    lm.kv_reserved = kv.bytes(l);
    lm.kv_kept = kv.bytes_kept(l);
    lm.kv_read = kv.bytes_read(l);
    lm.kv_new_tokens = kv.bytes_new(l, prompt_tokens);
    lm.evicted = kv.layout(l).ring();
    m.layers.push_back(lm);
    m.kv_all_fa += static_cast<std::size_t>(reserved_rows(KvLayout{}, kv.capacity())) * kv.row_bytes();
  }
  return m;
}

nlohmann::json memory_report_to_json(const MemoryReport& m) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerMemory& l : m.layers) {
    layers.push_back({{"kv_reserved", l.kv_reserved},
                      {"kv_kept", l.kv_kept},
                      {"kv_read", l.kv_read},
                      {"kv_new_tokens", l.kv_new_tokens},
                      {"evicted", l.evicted},
                      {"router_decides", l.router_decides}});
  }
  // The totals are derived (readers recompute them); written for people and scripts reading the file.
  return {{"measured", m.measured},
          {"weights", m.weights},
          {"workspace", m.workspace},
          {"workspace_measured", m.workspace_measured},
          {"kv_all_fa", m.kv_all_fa},
          {"kv_reserved_total", m.kv_reserved_total()},
          {"kv_kept_total", m.kv_kept_total()},
          {"total", m.total()},
          {"kv_saving", m.kv_saving()},
          {"layers", std::move(layers)}};
}

namespace {

std::size_t bytes_of(const nlohmann::json& j, const char* key) {
  const bool ok = j.contains(key) && j.at(key).is_number_integer() &&
                  (j.at(key).is_number_unsigned() || j.at(key).get<int64_t>() >= 0);
  require(ok, "memory report: '{}' must be a non-negative integer", key);
  return j.at(key).get<std::size_t>();
}

bool flag_of(const nlohmann::json& j, const char* key) {
  require(j.contains(key) && j.at(key).is_boolean(), "memory report: '{}' must be true or false", key);
  return j.at(key).get<bool>();
}

}  // namespace

MemoryReport memory_report_from_json(const nlohmann::json& j) {
  require(j.is_object(), "memory report: expected an object, got {}", j.type_name());
  MemoryReport m;
  m.measured = flag_of(j, "measured");
  m.weights = bytes_of(j, "weights");
  m.workspace = bytes_of(j, "workspace");
  m.workspace_measured = flag_of(j, "workspace_measured");
  m.kv_all_fa = bytes_of(j, "kv_all_fa");
  require(j.contains("layers") && j.at("layers").is_array(), "memory report: 'layers' must be an array");
  for (const nlohmann::json& l : j.at("layers")) {
    require(l.is_object(), "memory report: a layer must be an object");
    LayerMemory lm;
    lm.kv_reserved = bytes_of(l, "kv_reserved");
    lm.kv_kept = bytes_of(l, "kv_kept");
    lm.kv_read = bytes_of(l, "kv_read");
    lm.kv_new_tokens = bytes_of(l, "kv_new_tokens");
    lm.evicted = flag_of(l, "evicted");
    lm.router_decides = flag_of(l, "router_decides");
    m.layers.push_back(lm);
  }
  return m;
}

}  // namespace flux::engine
