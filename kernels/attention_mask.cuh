// Device side of attention_plan.h's token mask, shared by the prefill kernels: the exact element test and a
// conservative whole-tile test that lets fully allowed tiles skip the per-element mask.
#pragma once

#include "kernels/launch.h"

namespace flux::kernels {

__device__ __forceinline__ int64_t ceil_div_dev(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

// attention_plan.cpp's mask_allows, on the device.
__device__ __forceinline__ bool mask_allows_dev(const MaskParams& m, int64_t i, int64_t j) {
  if (j > i || j < 0) return false;
  if (m.mode == 0 || m.mode == 3) return true;
  bool streaming;
  if (m.token_exact) {
    streaming = j < m.sink || i - j < m.window;
  } else {
    const int64_t b = m.block;
    streaming = j / b < ceil_div_dev(m.sink, b) || i / b - j / b < ceil_div_dev(m.window, b);
  }
  if (m.mode == 1) return streaming;
  return i >= m.n_tokens - m.n_last || streaming;
}

// True only if every (i, j) with i in [p0, p1), j in [j0, j1) is allowed; false means "apply the element mask"
// (it may still all be allowed). Causal needs the last key at or before the first query; the streaming rule is
// checked at its extremes: all keys in the sink, or the largest distance inside the window.
__device__ __forceinline__ bool tile_fully_allowed(const MaskParams& m, int64_t p0, int64_t p1, int64_t j0,
                                                   int64_t j1) {
  if (j1 - 1 > p0) return false;
  if (m.mode == 0 || m.mode == 3) return true;
  if (m.mode == 2 && p0 >= m.n_tokens - m.n_last) return true;  // every row is a dense "last" query
  if (m.token_exact) return j1 - 1 < m.sink || (p1 - 1) - j0 < m.window;
  const int64_t b = m.block;
  return (j1 - 1) / b < ceil_div_dev(m.sink, b) || (p1 - 1) / b - j0 / b < ceil_div_dev(m.window, b);
}

}  // namespace flux::kernels
