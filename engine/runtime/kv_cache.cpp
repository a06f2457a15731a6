#include "engine/runtime/kv_cache.h"

#include <algorithm>

#include "engine/core/error.h"

namespace flux::engine {

KvLayout decode_layout(LayerMode mode, const AttentionPlan& plan, int64_t capacity) {
  if (mode == LayerMode::FA || plan.mode == AttentionMode::Full) return {};
  if (plan.decode == DecodeMode::Reference) return KvLayout::block_streaming(plan.sink, plan.window, plan.block);
  if (plan.mode != AttentionMode::Streaming) return {};
  return ring_layout(plan.sink, plan.window, capacity);
}

KvLayout ring_layout(int64_t sink, int64_t window, int64_t capacity) {
  // The whole context fits in sink + window: nothing to drop, keep it dense.
  if (sink + window >= capacity) return {};
  return KvLayout{sink, window};
}

int64_t reserved_rows(const KvLayout& layout, int64_t capacity) {
  return layout.ring() ? layout.sink + layout.window : capacity;
}

int64_t rows_kept(const KvLayout& layout, int64_t positions) {
  return positions == 0 ? 0 : layout.slots_after(positions - 1);
}

int64_t rows_read(const KvLayout& layout, int64_t positions) {
  return positions == 0 ? 0 : layout.reads_at(positions - 1).rows;
}

int64_t rows_new(int64_t reserved, int64_t prompt_tokens) { return std::max<int64_t>(reserved - prompt_tokens, 0); }

int64_t run_capacity(int64_t context_length, int64_t prompt_tokens, int64_t max_new_tokens) {
  return std::max(std::min(context_length, prompt_tokens + max_new_tokens), prompt_tokens);
}

int64_t run_positions(int64_t context_length, int64_t prompt_tokens, int64_t max_new_tokens) {
  return std::max(std::min(context_length, prompt_tokens + std::max<int64_t>(max_new_tokens - 1, 0)), prompt_tokens);
}

KvCache::KvCache(Backend& backend, int n_layers, int kv_dim, int64_t capacity)
    : backend_(backend), kv_dim_(kv_dim), capacity_(capacity), layers_(static_cast<std::size_t>(n_layers)) {
  for (auto& l : layers_) {
    l.k = backend_.empty_kv(capacity, kv_dim);
    l.v = backend_.empty_kv(capacity, kv_dim);
  }
}

void KvCache::store(int layer_index, int64_t pos0, const Tensor& k, const Tensor& v) {
  Layer& layer = layers_.at(static_cast<std::size_t>(layer_index));
  require(pos0 == layer.positions, "kv cache: layer {} expects position {}, got {}", layer_index, layer.positions,
          pos0);
  const bool ring = layer.layout.ring();
  require(ring || pos0 + k.rows <= capacity_, "kv cache: {} positions exceed the session's capacity of {}",
          pos0 + k.rows, capacity_);
  if (!ring) {
    backend_.write_rows(layer.k, pos0, k);
    backend_.write_rows(layer.v, pos0, v);
  } else {
    for (int64_t r = 0; r < k.rows; ++r) {  // one row at a time into its ring slot
      const int64_t slot = layer.layout.slot_of(pos0 + r);
      backend_.copy_rows(k, r, layer.k, slot, 1);
      backend_.copy_rows(v, r, layer.v, slot, 1);
    }
  }
  layer.positions = pos0 + k.rows;
}

void KvCache::store_step(int layer_index, const Tensor& k, const Tensor& v, const DecodeStep& step) {
  require(k.rows == 1 && v.rows == 1 && v.cols == k.cols, "kv cache: a decode step stores one row of k and of v");
  const StepTarget target = step_target(layer_index, k.cols);
  backend_.store_kv_step(k, v, step, target.layout, target.k, target.v);
}

KvCache::StepTarget KvCache::step_target(int layer_index, int64_t kv_cols) {
  Layer& layer = layers_.at(static_cast<std::size_t>(layer_index));
  require(kv_cols == kv_dim_, "kv cache: a decode step stores one row of {} values, got {}", kv_dim_, kv_cols);
  require(layer.layout.ring() || layer.positions < capacity_,
          "kv cache: {} positions exceed the session's capacity of {}", layer.positions + 1, capacity_);
  return StepTarget{layer.k, layer.v, layer.layout};
}

void KvCache::advance(int64_t pos) {
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    require(layers_[i].positions == pos, "kv cache: layer {} expects position {}, got {}", i, layers_[i].positions,
            pos);
    layers_[i].positions = pos + 1;
  }
}

void KvCache::make_streaming(int layer_index, int sink, int window) {
  Layer& layer = layers_.at(static_cast<std::size_t>(layer_index));
  require(layer.layout.window == 0 && sink >= 0 && window > 0, "kv cache: invalid streaming conversion of layer {}",
          layer_index);
  const KvLayout ring = ring_layout(sink, window, capacity_);
  if (!ring.ring()) return;
  const int64_t slots = flux::engine::reserved_rows(ring, capacity_);
  Layer compact;
  compact.k = backend_.empty_kv(slots, kv_dim_);
  compact.v = backend_.empty_kv(slots, kv_dim_);
  compact.positions = layer.positions;
  compact.layout = ring;
  const int64_t first_kept = std::max<int64_t>(sink, layer.positions - window);
  const int64_t n_sink = std::min<int64_t>(sink, layer.positions);
  backend_.copy_rows(layer.k, 0, compact.k, 0, n_sink);
  backend_.copy_rows(layer.v, 0, compact.v, 0, n_sink);
  // The kept window maps onto the ring in at most two contiguous runs (before and after the wrap): two copies per
  // tensor, not one per row (a 2048-token window would be 4096 device copies per layer).
  for (int64_t pos = first_kept; pos < layer.positions;) {
    const int64_t slot = compact.layout.slot_of(pos);
    const int64_t run = std::min<int64_t>(layer.positions - pos, slots - slot);
    backend_.copy_rows(layer.k, pos, compact.k, slot, run);
    backend_.copy_rows(layer.v, pos, compact.v, slot, run);
    pos += run;
  }
  layer = std::move(compact);
}

void KvCache::prepare_decode(int layer_index, LayerMode mode, const AttentionPlan& plan) {
  Layer& layer = layers_.at(static_cast<std::size_t>(layer_index));
  require(layer.layout.window == 0, "kv cache: layer {} is already prepared for decode", layer_index);
  const KvLayout target = decode_layout(mode, plan, capacity_);
  if (target.ring()) {
    make_streaming(layer_index, plan.sink, plan.window);
  } else {
    layer.layout = target;
  }
}

int64_t KvCache::rows_read(int layer_index) const {
  const Layer& layer = layers_.at(static_cast<std::size_t>(layer_index));
  return flux::engine::rows_read(layer.layout, layer.positions);
}

int64_t KvCache::reserved_rows(int layer_index) const {
  return layers_.at(static_cast<std::size_t>(layer_index)).k.rows;
}

std::size_t KvCache::bytes_new(int layer_index, int64_t prompt_tokens) const {
  return static_cast<std::size_t>(flux::engine::rows_new(reserved_rows(layer_index), prompt_tokens)) * row_bytes();
}

std::size_t KvCache::row_bytes() const {
  return 2 * static_cast<std::size_t>(kv_dim_) * backend_.kv_bytes_per_element();
}

std::size_t KvCache::bytes_kept(int layer_index) const {
  return static_cast<std::size_t>(slots_in_use(layer_index)) * row_bytes();
}

std::size_t KvCache::bytes_read(int layer_index) const {
  return static_cast<std::size_t>(rows_read(layer_index)) * row_bytes();
}

int64_t KvCache::slots_in_use(int layer_index) const {
  const Layer& layer = layers_.at(static_cast<std::size_t>(layer_index));
  return rows_kept(layer.layout, layer.positions);
}

KvLayout KvCache::layout(int layer_index) const {
  return layers_.at(static_cast<std::size_t>(layer_index)).layout;
}

std::size_t KvCache::bytes(int layer_index) const {
  const Layer& layer = layers_.at(static_cast<std::size_t>(layer_index));
  return static_cast<std::size_t>(layer.k.numel() + layer.v.numel()) * backend_.kv_bytes_per_element();
}

}  // namespace flux::engine
