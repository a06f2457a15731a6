#include "engine/runtime/kv_cache.h"

#include <algorithm>

#include "engine/core/error.h"

namespace flux::engine {

KvCache::KvCache(Backend& backend, int n_layers, int kv_dim, int64_t capacity)
    : backend_(backend), kv_dim_(kv_dim), capacity_(capacity), layers_(static_cast<std::size_t>(n_layers)) {
  for (auto& l : layers_) {
    l.k = backend_.empty(capacity, kv_dim);
    l.v = backend_.empty(capacity, kv_dim);
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
  Layer& layer = layers_.at(static_cast<std::size_t>(layer_index));
  require(k.rows == 1 && v.rows == 1 && k.cols == kv_dim_ && v.cols == kv_dim_,
          "kv cache: a decode step stores one row of {} values", kv_dim_);
  require(layer.layout.ring() || layer.positions < capacity_,
          "kv cache: {} positions exceed the session's capacity of {}", layer.positions + 1, capacity_);
  backend_.store_kv_step(k, v, step, layer.layout, layer.k, layer.v);
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
  const int64_t slots = int64_t{sink} + window;
  if (slots >= capacity_) return;  // the whole context fits in sink + window: nothing to drop, keep it dense
  Layer compact;
  compact.k = backend_.empty(slots, kv_dim_);
  compact.v = backend_.empty(slots, kv_dim_);
  compact.positions = layer.positions;
  compact.layout = KvLayout{sink, window};
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

void KvCache::prepare_decode(int layer_index, const AttentionPlan& plan) {
  Layer& layer = layers_.at(static_cast<std::size_t>(layer_index));
  require(layer.layout.window == 0, "kv cache: layer {} is already prepared for decode", layer_index);
  if (plan.mode == AttentionMode::Full) return;
  if (plan.decode == DecodeMode::Reference) {
    layer.layout = KvLayout::block_streaming(plan.sink, plan.window, plan.block);
  } else if (plan.mode == AttentionMode::Streaming) {
    make_streaming(layer_index, plan.sink, plan.window);
  }
}

int64_t KvCache::rows_read(int layer_index) const {
  const Layer& layer = layers_.at(static_cast<std::size_t>(layer_index));
  return layer.positions == 0 ? 0 : layer.layout.reads_at(layer.positions - 1).rows;
}

std::size_t KvCache::bytes_kept(int layer_index) const {
  return static_cast<std::size_t>(slots_in_use(layer_index)) * 2 * static_cast<std::size_t>(kv_dim_) *
         backend_.bytes_per_element();
}

std::size_t KvCache::bytes_read(int layer_index) const {
  return static_cast<std::size_t>(rows_read(layer_index)) * 2 * static_cast<std::size_t>(kv_dim_) *
         backend_.bytes_per_element();
}

int64_t KvCache::slots_in_use(int layer_index) const {
  const Layer& layer = layers_.at(static_cast<std::size_t>(layer_index));
  return layer.positions == 0 ? 0 : layer.layout.slots_after(layer.positions - 1);
}

KvLayout KvCache::layout(int layer_index) const {
  return layers_.at(static_cast<std::size_t>(layer_index)).layout;
}

std::size_t KvCache::bytes(int layer_index) const {
  const Layer& layer = layers_.at(static_cast<std::size_t>(layer_index));
  return static_cast<std::size_t>(layer.k.numel() + layer.v.numel()) * backend_.bytes_per_element();
}

}  // namespace flux::engine
