// What a decode step reads at run time, as plain data shared by host code and CUDA kernels (no engine headers here,
// so nvcc can include it): the step's token and position, and how a layer's KV cache maps positions to rows.
// Ops that take these read the position where the step runs (on the device for CUDA), so a decode step recorded
// once as a CUDA graph replays for every later token: nothing position-dependent is baked into the recording.
#pragma once

#include <cstdint>

#include "engine/core/host_device.h"

namespace flux::engine {

struct DecodeStepData {
  int32_t token = 0;
  int32_t unused = 0;
  int64_t pos = 0;
};

// The cache rows a decode step reads: `rows` of them, the j-th at cache row j, or j + gap once j >= gap_at (one hole:
// the positions between the sinks and the local blocks of a block-streaming layer). rows 0 = nothing to read.
struct KvReads {
  int64_t rows = 0;
  int64_t gap_at = 0;
  int64_t gap = 0;

  FLUX_HOST_DEVICE int64_t row(int64_t j) const { return j < gap_at ? j : j + gap; }
};

// Rows of one layer's cache and which of them a decode step reads. Three flavours:
// - dense (all zero): row = position; a step at pos reads rows [0, pos].
// - ring (window > 0, block 0), a FluxScope streaming layer after prefill: `sink` rows then a ring of `window` rows
//   holding the latest positions; a step reads every stored row.
// - block streaming (block > 0), the authors' decode of every SA layer (DecodeMode::Reference): row = position, all
//   kept; `sink` and `window` are whole blocks (ceil(sink/block)·block, ceil(window/block)·block rows, see
//   block_streaming). A step at pos reads positions j <= pos with j < sink or j >= (ceil(pos/block) + 1)·block −
//   window. That is flash-attn's block_streaming_attn_func with q_len 1 over the cache of pos + 1 keys (mit-han-lab/
//   Block-Sparse-Attention, csrc/block_sparse_attn/src/flash_blockmask.h, fwdStreaming, causal:
//     start_block_val = (ceil_div(max(act_k - act_q, 0), n_block_dim) + 1 + loop_step_idx/row_factor
//                        - start_row_idx) * col_factor;
//   with act_q = 1, act_k = pos + 1, loop_step_idx = start_row_idx = 0 the local blocks are start_block_val - 1 down
//   to start_block_val - local_block_num, i.e. the query's block index is ceil(pos/128), bottom-right aligned with
//   the rounding up). So when pos is a multiple of the block the local blocks are the last local_blocks up to and
//   including the query's own; otherwise the newest of them is the block after the query's, which the cache does
//   not hold (the kernel skips blocks >= n_block_max), and only local_blocks - 1 blocks are read. With one local
//   block and no sink such a step reads nothing, and the kernel writes zeros (its empty_line_flag path).
struct KvLayout {
  int64_t sink = 0;
  int64_t window = 0;
  int64_t block = 0;

  // The reference decode of a plan's (sink, window, block) on a dense cache.
  static KvLayout block_streaming(int64_t sink, int64_t window, int64_t block) {
    return KvLayout{(sink + block - 1) / block * block, (window + block - 1) / block * block, block};
  }

  FLUX_HOST_DEVICE bool ring() const { return block == 0 && window > 0; }
  FLUX_HOST_DEVICE int64_t slot_of(int64_t pos) const {
    return !ring() || pos < sink ? pos : sink + (pos - sink) % window;
  }
  // Rows stored once position `pos` is.
  FLUX_HOST_DEVICE int64_t slots_after(int64_t pos) const {
    return !ring() || pos + 1 < sink + window ? pos + 1 : sink + window;
  }
  // Most rows any step reads (-1: no bound but the cache's rows).
  FLUX_HOST_DEVICE int64_t max_reads() const { return window > 0 ? sink + window : -1; }
  // What a decode step at `pos` reads once its own row is stored.
  FLUX_HOST_DEVICE KvReads reads_at(int64_t pos) const {
    const int64_t end = pos + 1;
    if (block == 0) {
      const int64_t rows = slots_after(pos);
      return KvReads{rows, rows, 0};
    }
    const int64_t sink_end = sink < end ? sink : end;
    int64_t local_begin = ((pos + block - 1) / block + 1) * block - window;
    if (local_begin < sink_end) local_begin = sink_end;
    if (local_begin > end) local_begin = end;
    return KvReads{sink_end + (end - local_begin), sink_end, local_begin - sink_end};
  }
};

}  // namespace flux::engine
