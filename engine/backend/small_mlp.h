// A chain of small fp32 Linear layers (each optionally followed by SiLU) applied to a handful of rows: the Layer
// Router's MLP (engine/routing/layer_router.h). The weights live on the host; a backend that runs the chain on its
// device keeps its own copy in `device`, made on first use (one upload per router, not per prefill).
#pragma once

#include <memory>
#include <vector>

namespace flux::engine {

// y = x · Wᵀ + b, then SiLU when `silu`. weight [out, in] row-major, bias [out].
struct MlpLinear {
  int in = 0, out = 0;
  std::vector<float> weight, bias;
  bool silu = false;
};

struct SmallMlp {
  std::vector<MlpLinear> layers;
  // The device copy and the backend that made it (opaque to everyone else).
  mutable std::shared_ptr<void> device;
  mutable const void* device_owner = nullptr;

  int in() const { return layers.empty() ? 0 : layers.front().in; }
  int out() const { return layers.empty() ? 0 : layers.back().out; }
  int widest() const;  // the largest in/out width of the chain (scratch size per row)
  // The chain on the host: x [rows, in()] → [rows, out()], one OpenBLAS call per layer for all rows.
  std::vector<float> forward(const float* x, int rows) const;
};

}  // namespace flux::engine
