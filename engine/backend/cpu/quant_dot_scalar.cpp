// The portable body: every type through unpack_sub, integer dots per 16-element half.
#include "engine/backend/cpu/quant_blocks.h"
#include "engine/backend/cpu/quant_dot.h"

namespace flux::engine::cpu {
namespace {

template <DType T, bool kResidual>
float dot_scalar(const uint8_t* w, const Q8Block* a, int64_t cols) {
  constexpr BlockShape shape = block_shape(T);
  constexpr int subs = shape.elems / 32;
  float acc = 0.0f;
  SubBlock sb;
  for (int64_t b = 0; b < cols / shape.elems; ++b, w += shape.bytes) {
    for (int s = 0; s < subs; ++s, ++a) {
      unpack_sub(T, w, s, sb);
      const float half_sum[2] = {a->s0, a->s - a->s0};
      for (int h = 0; h < 2; ++h) {
        int dot = 0, dot2 = 0;
        for (int j = 16 * h; j < 16 * h + 16; ++j) dot += sb.q[j] * a->q[j];
        acc += sb.scale[h] * a->d * static_cast<float>(dot) + sb.offset[h] * half_sum[h];
        if constexpr (kResidual) {
          for (int j = 16 * h; j < 16 * h + 16; ++j) dot2 += sb.q[j] * a->q2[j];
          acc += sb.scale[h] * a->d2 * static_cast<float>(dot2);
        }
      }
    }
  }
  return acc;
}

template <bool R>
RowDot table(DType type) {
  switch (type) {
    case DType::Q4_0:
      return dot_scalar<DType::Q4_0, R>;
    case DType::Q4_1:
      return dot_scalar<DType::Q4_1, R>;
    case DType::Q5_0:
      return dot_scalar<DType::Q5_0, R>;
    case DType::Q5_1:
      return dot_scalar<DType::Q5_1, R>;
    case DType::Q8_0:
      return dot_scalar<DType::Q8_0, R>;
    case DType::Q4_K:
      return dot_scalar<DType::Q4_K, R>;
    case DType::Q5_K:
      return dot_scalar<DType::Q5_K, R>;
    case DType::Q6_K:
      return dot_scalar<DType::Q6_K, R>;
    default:
      return nullptr;
  }
}

}  // namespace

RowDot row_dot_scalar(DType type, bool residual) {
  return residual ? table<true>(type) : table<false>(type);
}

}  // namespace flux::engine::cpu
