// NVTX ranges around the spans the trace export names (a layer's prefill, its attention, a decode step), so an
// Nsight Systems capture of a CUDA build reads "L17 prefill" / "L17 attention streaming". Header-only nvtx3 from the
// CUDA toolkit: a push/pop costs nothing measurable when no tool is attached. Without CUDA the ranges compile away.
#pragma once

#include <string>

#if defined(FLUX_HAVE_CUDA)
#include <nvtx3/nvToolsExt.h>
#endif

namespace flux::engine {

class NvtxRange {
 public:
#if defined(FLUX_HAVE_CUDA)
  explicit NvtxRange(const std::string& name) { nvtxRangePushA(name.c_str()); }
  ~NvtxRange() { nvtxRangePop(); }
#else
  explicit NvtxRange(const std::string& /*name*/) {}
#endif
  NvtxRange(const NvtxRange&) = delete;
  NvtxRange& operator=(const NvtxRange&) = delete;
};

}  // namespace flux::engine
