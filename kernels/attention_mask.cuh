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

// mask_allows_dev for one row i over the keys of a tile starting at j0, as three column limits relative to j0: key
// j0 + c is allowed iff c <= hi && (c < sink_end || c >= win_lo). Clamped to [-1, 2^20] so the per-element test is
// three int32 compares.
struct RowMask {
  int hi, sink_end, win_lo;
  __device__ __forceinline__ bool allows(int c) const { return c <= hi && (c < sink_end || c >= win_lo); }
};

__device__ __forceinline__ int clamp_rel(int64_t x) {
  return static_cast<int>(min(max(x, int64_t{-1}), int64_t{1} << 20));
}

__device__ __forceinline__ RowMask row_mask(const MaskParams& m, int64_t i, int64_t j0) {
  int64_t sink_end = 0, win_lo = 0;  // dense rows (win_lo <= j0): every key up to i
  const bool dense = m.mode == 0 || m.mode == 3 || (m.mode == 2 && i >= m.n_tokens - m.n_last);
  if (!dense && m.token_exact) {  // j < sink || i - j < window
    sink_end = m.sink;
    win_lo = i - m.window + 1;
  } else if (!dense) {  // j/b < ceil(sink/b) || i/b - j/b < ceil(window/b)
    const int64_t b = m.block;
    sink_end = ceil_div_dev(m.sink, b) * b;
    win_lo = (i / b - ceil_div_dev(m.window, b) + 1) * b;
  }
  return RowMask{clamp_rel(i - j0), clamp_rel(sink_end - j0), clamp_rel(win_lo - j0)};
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
