// Per-layer key/value storage of one session. Every layer keeps every position, except, in DecodeMode::FluxScope, a
// streaming layer: after prefill it keeps only the sink positions plus a ring buffer of the last `window` positions,
// exactly what its decode steps may read, so long contexts cost less memory. In DecodeMode::Reference nothing is
// evicted; SA layers' decode steps read only their block-streaming rows of the full cache (KvLayout::block_streaming).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/routing/router_score.h"

namespace flux::engine {

// The sizing rules, shared by KvCache and estimate_memory (memory_report.h) so the estimate is what the cache does.
// The layout a layer's cache takes after its prefill in `mode` under `plan` (prepare_decode): dense for FA, whatever
// its kind (an FA-side XAttention layer decodes densely, ALGORITHMS.md §4); DecodeMode::Reference SA: block streaming
// over the full cache; FluxScope streaming: the sink + window ring, unless sink + window rows hold the whole capacity
// (then it stays dense); FluxScope triangle and XAttention: dense.
KvLayout decode_layout(LayerMode mode, const AttentionPlan& plan, int64_t capacity);
// A streaming ring of sink + window rows, or dense when those rows hold the whole capacity.
KvLayout ring_layout(int64_t sink, int64_t window, int64_t capacity);
// Rows a layer with that layout allocates: the ring's sink + window, else the capacity.
int64_t reserved_rows(const KvLayout& layout, int64_t capacity);
// Rows holding a position, and rows the newest decode step reads, once `positions` positions are stored.
int64_t rows_kept(const KvLayout& layout, int64_t positions);
int64_t rows_read(const KvLayout& layout, int64_t positions);
// Of a layer's reserved rows, those beyond the prompt: kept for the tokens generated after it.
int64_t rows_new(int64_t reserved_rows, int64_t prompt_tokens);
// Engine::run's session capacity: the prompt and max_new_tokens, within the context (never less than the prompt).
int64_t run_capacity(int64_t context_length, int64_t prompt_tokens, int64_t max_new_tokens);
// Positions stored when a run has generated all max_new_tokens: the first token comes out of prefill and each later
// one is fed back before the next is sampled, so the last one is never stored; a full context stops the run.
int64_t run_positions(int64_t context_length, int64_t prompt_tokens, int64_t max_new_tokens);

class KvCache {
 public:
  KvCache(Backend& backend, int n_layers, int kv_dim, int64_t capacity);

  // Stores keys/values of positions [pos0, pos0 + k.rows) of a layer.
  void store(int layer, int64_t pos0, const Tensor& k, const Tensor& v);
  // Stores one decode step's k/v [1, kv_dim] at the step's position (read where the step runs). The host count of
  // stored positions moves only with advance(), once per step for every layer, so a recorded step can replay.
  void store_step(int layer, const Tensor& k, const Tensor& v, const DecodeStep& step);
  // The same store done by a backend op that also computes k (Backend::attention_inputs_step): the layer's cache
  // and layout for a step, after store_step's checks.
  struct StepTarget {
    Tensor& k;
    Tensor& v;
    KvLayout layout;
  };
  StepTarget step_target(int layer, int64_t kv_cols);
  // Marks position `pos` stored in every layer (after a decode step at pos).
  void advance(int64_t pos);
  // Shrinks a layer to sinks + ring window (call once, after that layer's prefill).
  void make_streaming(int layer, int sink, int window);
  // After a layer's prefill, sets up how its decode steps read the cache for the mode and plan that ran
  // (decode_layout): FA layers read all; SA layers per plan.decode (FluxScope: streaming layers make_streaming,
  // triangle/XAttention read all; Reference: every SA kind reads its block-streaming rows of the full cache, nothing
  // evicted). Call once per layer.
  void prepare_decode(int layer, LayerMode mode, const AttentionPlan& plan);

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
  int64_t reserved_rows(int layer) const;   // rows allocated (capacity, or sink + window for a ring)
  // Of bytes(layer), the rows beyond a prompt of prompt_tokens: reserved for the tokens generated after it.
  std::size_t bytes_new(int layer, int64_t prompt_tokens) const;
  std::size_t row_bytes() const;            // bytes of one row of K and V
  int64_t capacity() const { return capacity_; }
  int n_layers() const { return static_cast<int>(layers_.size()); }

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
