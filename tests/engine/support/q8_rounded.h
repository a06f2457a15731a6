// x as the Q8 kernels see it: each 32-value block rounded to d·q (+ d2·q2 with the residual level) — the exact
// input a quantized dot product multiplies, so a test can compare it against a double-precision product.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/backend/cpu/q8_activations.h"

namespace flux::test {

inline std::vector<float> q8_rounded(const std::vector<float>& x, int64_t cols, bool residual) {
  namespace cpu = flux::engine::cpu;
  std::vector<float> out(x.size());
  std::vector<cpu::Q8Block> blocks(static_cast<std::size_t>(cols / 32));
  for (std::size_t r = 0; r < x.size() / static_cast<std::size_t>(cols); ++r) {
    cpu::quantize_row_q8(x.data() + r * cols, blocks.data(), cols, residual);
    for (std::size_t b = 0; b < blocks.size(); ++b)
      for (int j = 0; j < 32; ++j)
        out[r * cols + b * 32 + j] = blocks[b].d * blocks[b].q[j] + blocks[b].d2 * blocks[b].q2[j];
  }
  return out;
}

}  // namespace flux::test
