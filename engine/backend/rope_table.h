// What the rope ops rotate by: per-pair inverse frequencies and the factor on cos and sin, made once from the model
// config by engine/model/rope_frequencies.h. Dynamic NTK's base also grows with the position during decode; its rule
// is here as FLUX_HOST_DEVICE code so a recorded CUDA step evaluates it on the device, from the step's position.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/core/host_device.h"

namespace flux::engine {

// Plain RoPE's inverse frequency of pair i: base^(-2i/dim) (HF: 1 / base^(2i/dim)).
FLUX_HOST_DEVICE inline double rope_inv_freq(double base, int i, int dim) {
  return pow(base, -2.0 * i / dim);
}

// HF's dynamic NTK rule: for a sequence of seq_len > max_positions tokens the base becomes
// theta · (factor · seq_len / max_positions − (factor − 1))^(dim / (dim − 2)); up to max_positions it is theta.
struct RopeDynamicNtk {
  double theta = 0.0;
  double factor = 1.0;
  int64_t max_positions = 0;  // 0: not dynamic
  int dim = 0;

  FLUX_HOST_DEVICE bool active() const { return max_positions > 0; }
  FLUX_HOST_DEVICE double base(int64_t seq_len) const {
    if (seq_len <= max_positions) return theta;
    const double growth = factor * static_cast<double>(seq_len) / static_cast<double>(max_positions) - (factor - 1.0);
    return theta * pow(growth, static_cast<double>(dim) / (dim - 2));
  }
};

struct RopeTable {
  std::vector<double> inv_freq;  // head_dim / 2, for the sequence length the table was made for
  float attention_scale = 1.0f;  // multiplies cos and sin (yarn's mscale; 1 otherwise)
  // When active, a decode step at position p rotates by base(p + 1)'s frequencies instead of inv_freq.
  RopeDynamicNtk dynamic;

  int head_dim() const { return static_cast<int>(inv_freq.size()) * 2; }
  // The table a decode step at `pos` rotates by (itself unless dynamic).
  RopeTable at_decode_position(int64_t pos) const {
    RopeTable t = *this;
    if (dynamic.active()) {
      const double base = dynamic.base(pos + 1);
      for (std::size_t i = 0; i < t.inv_freq.size(); ++i) t.inv_freq[i] = rope_inv_freq(base, static_cast<int>(i), dynamic.dim);
    }
    return t;
  }
};

}  // namespace flux::engine
