// What a decode step reads at run time, as plain data shared by host code and CUDA kernels (no engine headers here,
// so nvcc can include it): the step's token and position, and how a layer's KV cache maps positions to rows.
// Ops that take these read the position where the step runs (on the device for CUDA), so a decode step recorded
// once as a CUDA graph replays for every later token: nothing position-dependent is baked into the recording.
#pragma once

#include <cstdint>

#include "engine/core/host_device.h"

namespace flux::engine {

struct DecodeStepData {
  int32_t token = 0;
  int32_t unused = 0;
  int64_t pos = 0;
};

// Rows of one layer's cache: dense (window 0: row = position) or, after a streaming layer's prefill, `sink` rows
// then a ring of `window` rows holding the latest positions.
struct KvLayout {
  int64_t sink = 0;
  int64_t window = 0;

  FLUX_HOST_DEVICE int64_t slot_of(int64_t pos) const {
    return window == 0 || pos < sink ? pos : sink + (pos - sink) % window;
  }
  // Rows a decode step at `pos` attends once its own row is stored.
  FLUX_HOST_DEVICE int64_t slots_after(int64_t pos) const {
    return window == 0 || pos + 1 < sink + window ? pos + 1 : sink + window;
  }
};

}  // namespace flux::engine
