#include "engine/model/decoder_weights.h"

#include <set>

#include "engine/backend/weight_dtype.h"

namespace flux::engine {

std::size_t weight_bytes(const DecoderWeights& w) {
  std::set<const void*> seen;
  std::size_t bytes = 0;
  auto add = [&](const Tensor& t) {
    if (t.empty() || !seen.insert(t.storage ? t.storage.get() : t.data).second) return;
    bytes += static_cast<std::size_t>(t.rows * dtype_row_bytes(t.dtype, t.cols));
  };
  add(w.embed_tokens);
  for (const LayerWeights& l : w.layers) {
    for (const Tensor* t : {&l.input_norm, &l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.q_bias, &l.k_bias,
                            &l.v_bias, &l.q_norm, &l.k_norm, &l.post_attention_norm, &l.gate_proj, &l.up_proj,
                            &l.down_proj})
      add(*t);
  }
  add(w.final_norm);
  add(w.lm_head);
  return bytes;
}

}  // namespace flux::engine
