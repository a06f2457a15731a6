// The one place RoPE's frequencies are decided: (head_dim, rope_theta, RopeScaling, sequence length) → the per-pair
// inverse frequencies and the cos/sin factor, with HF transformers' semantics (modeling_rope_utils.py). Both
// backends rotate by the table this returns; nothing else computes a RoPE frequency.
#pragma once

#include <cstdint>

#include "engine/backend/rope_table.h"
#include "engine/model/model_config.h"

namespace flux::engine {

// seq_len matters only for Dynamic: the length of the sequence the rotated rows belong to, i.e. the last position
// + 1 (HF: max(position_ids) + 1). A prefill of rows [pos0, pos0 + n) passes pos0 + n; 0 = "no longer than the
// original context" (the table HF builds at load). The returned table carries the dynamic rule so that a decode step
// at position p rotates by seq_len p + 1, as HF's dynamic_rope_update recomputes it before every forward.
RopeTable rope_frequencies(int head_dim, double rope_theta, const RopeScaling& scaling, int64_t seq_len = 0);
RopeTable rope_frequencies(const ModelConfig& config, int64_t seq_len = 0);

}  // namespace flux::engine
