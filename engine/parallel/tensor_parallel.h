// Megatron-style tensor parallelism of the decoder (docs/tensor-parallel.md). Rank r of N holds its share of the
// query heads, of the KV heads (split, or replicated when N > n_kv_heads: a GQA group never straddles ranks), of the
// MLP's hidden units and of the vocabulary; the residual stream is whole on every rank. Per layer: one all-reduce
// after o_proj and one after down_proj (the decoder's two residual adds); per step one for the embedding lookup and
// an all-gather of the logits. Routing decisions are taken once and given to every rank as the same plan.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/backend/backend.h"
#include "engine/model/decoder.h"
#include "engine/model/decoder_weights.h"
#include "engine/model/model_config.h"
#include "engine/parallel/communicator.h"

namespace flux::engine {

struct TensorParallelShard {
  int rank = 0, size = 1;
  int q_head0 = 0, n_q_heads = 0;    // query heads [q_head0, q_head0 + n_q_heads)
  int kv_head0 = 0, n_kv_heads = 0;  // the KV heads those queries read
  int64_t ffn0 = 0, n_ffn = 0;       // MLP hidden units (gate/up rows, down_proj columns)
  int64_t vocab0 = 0, n_vocab = 0;   // embedding and lm_head rows
};

// Rank `rank` of `size`; an Error naming the dimension when the model does not split into `size` equal shares.
TensorParallelShard tensor_parallel_shard(const ModelConfig& config, int rank, int size);
// The model as one rank sees it: its heads, KV heads, MLP units and vocabulary slice.
ModelConfig shard_config(const ModelConfig& config, const TensorParallelShard& shard);
// This rank's slices of fp32 weights held by `from` (load them with WeightStorage::F32), uploaded to `to`.
DecoderWeights shard_weights(const DecoderWeights& full, const ModelConfig& config, const TensorParallelShard& shard,
                             Backend& from, Backend& to);

// One rank's decoder: prefill_layer / decode_layer of local() run the rank's share and all-reduce the residual adds
// through `comm`; embed and logits exchange the vocabulary slices. Every rank makes the same calls in the same order.
class TensorParallelDecoder {
 public:
  TensorParallelDecoder(const ModelConfig& config, const DecoderWeights& full, Backend& from, Backend& backend,
                        Communicator& comm);

  const ModelConfig& config() const { return config_; }    // the whole model
  const TensorParallelShard& shard() const { return shard_; }
  Decoder& local() { return decoder_; }                    // this rank's share (its config: shard_config)
  Backend& backend() { return decoder_.backend(); }

  // Hidden states [n, hidden] of the tokens, the same on every rank (each looks up its vocabulary slice).
  Tensor embed(std::span<const int32_t> tokens);
  // Final norm + lm_head of x's rows: logits [rows, vocab] on the host, the same on every rank.
  std::vector<float> logits(const Tensor& x);

 private:
  void all_reduce(Tensor& t);

  ModelConfig config_;
  TensorParallelShard shard_;
  Communicator& comm_;
  Decoder decoder_;
};

}  // namespace flux::engine
