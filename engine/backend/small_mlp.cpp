#include "engine/backend/small_mlp.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>

namespace flux::engine {

int SmallMlp::widest() const {
  int w = 0;
  for (const MlpLinear& l : layers) w = std::max({w, l.in, l.out});
  return w;
}

std::vector<float> SmallMlp::forward(const float* x, int rows) const {
  std::vector<float> in(x, x + static_cast<std::size_t>(rows) * static_cast<std::size_t>(this->in()));
  for (const MlpLinear& l : layers) {
    std::vector<float> y(static_cast<std::size_t>(rows) * static_cast<std::size_t>(l.out));
    for (int r = 0; r < rows; ++r)
      std::copy(l.bias.begin(), l.bias.end(), y.begin() + static_cast<std::ptrdiff_t>(r) * l.out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, l.out, l.in, 1.0f, in.data(), l.in, l.weight.data(),
                l.in, 1.0f, y.data(), l.out);
    if (l.silu)
      for (float& v : y) v = v / (1.0f + std::exp(-v));
    in = std::move(y);
  }
  return in;
}

}  // namespace flux::engine
