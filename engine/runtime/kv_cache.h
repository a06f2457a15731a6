// Per-layer key/value storage of one session. Every layer keeps every position, except, in DecodeMode::FluxScope, a
// streaming layer: after prefill it keeps only the sink positions plus a ring buffer of the last `window` positions,
// exactly what its decode steps may read, so long contexts cost less memory. In DecodeMode::Reference nothing is
// evicted; SA layers' decode steps read only their block-streaming rows of the full cache (KvLayout::block_streaming).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/backend/backend.h"

namespace flux::engine {

class KvCache {
 public:
  KvCache(Backend& backend, int n_layers, int kv_dim, int64_t capacity);

  // Stores keys/values of positions [pos0, pos0 + k.rows) of a layer.
  void store(int layer, int64_t pos0, const Tensor& k, const Tensor& v);
  // Stores one decode step's k/v [1, kv_dim] at the step's position (read where the step runs). The host count of
  // stored positions moves only with advance(), once per step for every layer, so a recorded step can replay.
  void store_step(int layer, const Tensor& k, const Tensor& v, const DecodeStep& step);
  // Marks position `pos` stored in every layer (after a decode step at pos).
  void advance(int64_t pos);
  // Shrinks a layer to sinks + ring window (call once, after that layer's prefill).
  void make_streaming(int layer, int sink, int window);
  // After a layer's prefill, sets up how its decode steps read the cache for the plan that ran: FA layers read all;
  // SA layers per plan.decode (FluxScope: streaming layers make_streaming, triangle/XAttention read all; Reference:
  // every SA kind reads its block-streaming rows of the full cache, nothing evicted). Call once per layer.
  void prepare_decode(int layer, const AttentionPlan& plan);

  const Tensor& keys(int layer) const { return layers_[static_cast<std::size_t>(layer)].k; }
  const Tensor& values(int layer) const { return layers_[static_cast<std::size_t>(layer)].v; }
  // Number of rows holding a stored position (at most the capacity; sink + window for a ring).
  int64_t slots_in_use(int layer) const;
  // Rows the decode step of the newest stored position reads (slots_in_use but for block streaming).
  int64_t rows_read(int layer) const;
  // How the layer's rows map to positions and which a step reads (dense, ring, or block streaming).
  KvLayout layout(int layer) const;
  std::size_t bytes(int layer) const;       // allocated for the layer (k and v)
  std::size_t bytes_kept(int layer) const;  // of the rows holding a position: slots_in_use · kv_dim · 2 elements
  std::size_t bytes_read(int layer) const;  // that the newest position's decode step reads: rows_read · kv_dim · 2
  int64_t capacity() const { return capacity_; }

 private:
  struct Layer {
    Tensor k, v;
    int64_t positions = 0;  // positions stored so far (next position to store)
    KvLayout layout;  // all zero = dense
  };

  Backend& backend_;
  int kv_dim_;
  int64_t capacity_;
  std::vector<Layer> layers_;
};

}  // namespace flux::engine
