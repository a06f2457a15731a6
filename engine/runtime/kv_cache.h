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
  // Shrinks a layer to sinks + ring window (call once, after that layer's prefill).
  void make_streaming(int layer, int sink, int window);

  const Tensor& keys(int layer) const { return layers_[static_cast<std::size_t>(layer)].k; }
  const Tensor& values(int layer) const { return layers_[static_cast<std::size_t>(layer)].v; }
  // Number of stored rows a decode step attends.
  int64_t slots_in_use(int layer) const;
  std::size_t bytes(int layer) const;
  int64_t capacity() const { return capacity_; }

 private:
  struct Layer {
    Tensor k, v;
    int64_t positions = 0;  // positions stored so far (next position to store)
    bool streaming = false;
    int sink = 0, window = 0;
  };
  int64_t slot_of(const Layer& layer, int64_t pos) const;

  Backend& backend_;
  int kv_dim_;
  int64_t capacity_;
  std::vector<Layer> layers_;
};

}  // namespace flux::engine
