// Factory of the CUDA backend (kernels/), linked into flux_engine only when built with FLUX_WITH_CUDA
// (FLUX_HAVE_CUDA=1 inside the engine); this header is the engine's only view of it.
#pragma once

#include <memory>

#include "engine/backend/backend.h"

namespace flux::engine {

// Throws Error if no CUDA device can be used.
std::unique_ptr<Backend> make_cuda_backend();
// True when the CUDA runtime sees at least one device; never throws and creates no context.
bool cuda_device_available();

}  // namespace flux::engine
