#include "engine/model/decoder_weights.h"

#include <algorithm>
#include <map>
#include <set>

#include "engine/backend/backend.h"
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

std::size_t decode_weight_bytes(const DecoderWeights& w) {
  const Tensor& e = w.embed_tokens;
  const bool tied = !e.empty() && e.data == w.lm_head.data;
  const auto table = e.empty() ? 0 : static_cast<std::size_t>(e.rows * dtype_row_bytes(e.dtype, e.cols));
  return weight_bytes(w) - (tied ? 0 : table);
}

std::string weight_execution(const DecoderWeights& w, const Backend& backend) {
  std::map<std::string, std::size_t> bytes;
  std::set<const void*> seen;
  auto add = [&](const Tensor& t) {
    if (t.empty() || !seen.insert(t.storage ? t.storage.get() : t.data).second) return;
    bytes[backend.weight_execution(t)] += static_cast<std::size_t>(t.rows * dtype_row_bytes(t.dtype, t.cols));
  };
  add(w.embed_tokens);
  add(w.lm_head);
  for (const LayerWeights& l : w.layers)
    for (const Tensor* t : {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj}) add(*t);
  std::vector<std::pair<std::size_t, std::string>> kinds;
  for (const auto& [name, n] : bytes) kinds.emplace_back(n, name);
  std::sort(kinds.rbegin(), kinds.rend());
  std::string out;
  for (const auto& k : kinds) out += (out.empty() ? "" : " + ") + k.second;
  return out;
}

}  // namespace flux::engine
