// Fields of a GGML block read on the host: the f16 scales and the packed six-bit scales / mins of Q4_K / Q5_K. One
// definition for the reference dequantizers (ggml_quant.cpp) and the CPU dot bodies (backend/cpu/quant_blocks.h);
// the device has its own form (kernels/quant_blocks.cuh: nvcc device code, by shifts).
#pragma once

#include <cstdint>
#include <cstring>

#include "engine/format/tensor_convert.h"

namespace flux::engine {

// Through memcpy: GGUF only aligns tensor starts, and 18/20/22/34-byte blocks leave the f16 fields unaligned.
inline float load_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, sizeof h);
  return f16_to_f32(h);
}

// The 12 scale bytes of Q4_K/Q5_K pack 8 six-bit scales and 8 six-bit mins: sub-blocks 0-3 use the low 6 bits of
// bytes 0-3 (scale) and 4-7 (min); sub-blocks 4-7 take their low 4 bits from bytes 8-11 and their top 2 bits from
// the spare top bits of bytes 0-3 (scale) and 4-7 (min).
inline void scale_min_k4(int j, const uint8_t* q, int& scale, int& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

}  // namespace flux::engine
