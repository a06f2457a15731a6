// One conversation on a loaded model: owns the KV cache, runs prefill under a RoutingPlan, then decodes step by
// step. Checks the cancel flag between layers and between tokens.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/error.h"
#include "engine/model/decoder.h"
#include "engine/routing/layer_router.h"
#include "engine/runtime/kv_cache.h"
#include "engine/routing/routing_plan.h"
#include "engine/runtime/run_report.h"

namespace flux::engine {

class Cancelled : public Error {
 public:
  Cancelled() : Error("run cancelled") {}
};

class Session {
 public:
  // capacity: the most positions this session will hold (prompt + generated).
  Session(Decoder& decoder, int64_t capacity, const std::atomic<bool>* cancel = nullptr);

  // Runs the prompt through every layer. Returns the logits of the last prompt position [vocab]. `on_layer` is
  // called after each layer with its report (mode, source, timing, KV bytes). Throws Cancelled.
  std::vector<float> prefill(std::span<const int32_t> tokens, const RoutingPlan& plan,
                             const std::function<void(const LayerReport&)>& on_layer = {});
  // Same, leaving the last position's logits [1, vocab] on the backend (device sampling reads back only the id).
  Tensor prefill_logits(std::span<const int32_t> tokens, const RoutingPlan& plan,
                        const std::function<void(const LayerReport&)>& on_layer = {});
  // Same, returning the logits of every prompt position [n, vocab] (reference checks).
  std::vector<float> prefill_all_logits(std::span<const int32_t> tokens, const RoutingPlan& plan);
  // Same, for teacher-forced scoring (perplexity): log p(tokens[k] | tokens[0..k)) for k in [first_target, n), in
  // fp64. Final norm + lm_head run on block_rows positions at a time, so at most [block_rows, vocab] logits exist
  // (an 8K-token chunk's [n, vocab] would be 1.6 GB on SmolLM2); any backend, through Decoder::logits.
  std::vector<double> prefill_target_logprobs(std::span<const int32_t> tokens, const RoutingPlan& plan,
                                              int64_t first_target = 1,
                                              const std::function<void(const LayerReport&)>& on_layer = {},
                                              int64_t block_rows = 256);
  // Feeds one token at the next position; returns its logits [vocab].
  std::vector<float> decode(int32_t token);
  // Same, leaving the logits [1, vocab] on the backend, in a buffer the next step overwrites. The first step is
  // recorded where the backend can (CUDA graph) and later steps replay it: one launch per token.
  Tensor decode_logits(int32_t token);
  // Whether decode steps replay a recording (false on the CPU, before the first step, or when recording failed).
  bool decode_recorded() const { return decode_recording_ != nullptr; }

  // Prefill processes the prompt in chunks of this many rows per layer (0 = the whole prompt at once): activations
  // then scale with the chunk, not the prompt, so 128K-token prompts fit next to 8B weights (Decoder::prefill_layer).
  void set_prefill_chunk(int64_t rows);
  int64_t prefill_chunk() const { return prefill_chunk_; }

  // Whether prefill reports the block selection of XAttention layers (LayerReport::block_mask; on CUDA a download of
  // the device lists per layer). On by default; off for huge runs that only need timing.
  void set_record_block_masks(bool on) { record_block_masks_ = on; }
  bool record_block_masks() const { return record_block_masks_; }

  // The Layer Router consulted during prefill for plan layers marked from_router (not owned; may be null: those
  // layers then run FA).
  void set_router(const LayerRouter* router) { router_ = router; }

  int64_t position() const { return position_; }
  const KvCache& kv_cache() const { return kv_; }

 private:
  Tensor run_prefill(std::span<const int32_t> tokens, const RoutingPlan& plan,
                     const std::function<void(const LayerReport&)>& on_layer);
  void check_cancel() const;
  // compute_ms: the backend's time for the router's pooling and MLP (see Backend::pooled_mlp).
  RouterDecision run_router(int layer, const Tensor& states, double& compute_ms);
  // The same on the device, into slot `layer` of table; nothing read back (Backend::route_on_device).
  TimeSpan run_router_on_device(int layer, const Tensor& states, float threshold, Backend::RouteTable& table);
  void run_decode_step();  // the work of one decode step, reading token and position from decode_step_

  Decoder& decoder_;
  KvCache kv_;
  const std::atomic<bool>* cancel_;
  int64_t position_ = 0;
  const LayerRouter* router_ = nullptr;
  int64_t prefill_chunk_ = 0;
  bool record_block_masks_ = true;
  DecodeStep decode_step_;
  Tensor step_logits_;
  std::shared_ptr<void> decode_recording_;
  bool decode_record_tried_ = false;
};

}  // namespace flux::engine
