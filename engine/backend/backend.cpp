// Default implementations of the Backend ops that can be expressed through the others (host generation + upload,
// download + host sampling); device backends override them to keep the data on the device.
#include "engine/backend/backend.h"

#include "engine/backend/random_fill.h"
#include "engine/core/error.h"

namespace flux::engine {

Tensor Backend::random(int64_t rows, int64_t cols, float scale, uint64_t seed) {
  require(rows >= 0 && cols >= 0, "random tensor: negative shape [{}, {}]", rows, cols);
  std::vector<float> host(static_cast<std::size_t>(rows * cols));
  for (std::size_t i = 0; i < host.size(); ++i) host[i] = random_uniform(seed, i, scale);
  return upload(host, rows, cols);
}

int32_t Backend::sample_token(const Tensor& logits, const SampleParams& params) {
  require(logits.rows == 1 && logits.cols > 0, "sample_token: logits must be one row, got [{}, {}]", logits.rows,
          logits.cols);
  std::vector<float> host(static_cast<std::size_t>(logits.cols));
  download(logits, host);
  return sample_token_reference(host, params);
}

}  // namespace flux::engine
