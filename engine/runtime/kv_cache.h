// Per-layer key/value storage of one session. Dense layers (FA, triangle, XAttention) keep every position; after
// prefill a streaming layer keeps only the sink positions plus a ring buffer of the last `window` positions, which is
// exactly what its decode steps may read — so decode attends every stored slot and long contexts cost less memory.
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

  const Tensor& keys(int layer) const { return layers_[static_cast<std::size_t>(layer)].k; }
  const Tensor& values(int layer) const { return layers_[static_cast<std::size_t>(layer)].v; }
  // Number of stored rows a decode step attends.
  int64_t slots_in_use(int layer) const;
  // How the layer's rows map to positions (dense, or sinks + ring after make_streaming).
  KvLayout layout(int layer) const;
  std::size_t bytes(int layer) const;
  int64_t capacity() const { return capacity_; }

 private:
  struct Layer {
    Tensor k, v;
    int64_t positions = 0;  // positions stored so far (next position to store)
    KvLayout layout;  // window 0 = dense
  };

  Backend& backend_;
  int kv_dim_;
  int64_t capacity_;
  std::vector<Layer> layers_;
};

}  // namespace flux::engine
