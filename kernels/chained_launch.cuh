// Programmatic dependent launch (Hopper and later) for the small kernels of a decode step. A kernel launched with
// launch_chained may be scheduled while the kernel before it in the stream is still finishing, so the launch
// latency and the ramp-up of its blocks overlap the previous kernel's tail. The contract, for every kernel launched
// this way: call chain_start() before reading or writing anything another kernel touches (it waits until the
// previous kernel has finished and its writes are visible, then lets the next kernel be scheduled). Only data no
// kernel writes during a run (the weights) may be read before it. Because every chained kernel waits before it
// allows the next one in, at most one kernel runs ahead of its predecessor's completion.
// Off where the kernel's code predates compute capability 9.0 (the sm_80 code has no griddepcontrol: older GPUs, or
// a newer GPU JIT-compiling the portable PTX) and with FLUX_PDL=0.
#pragma once

#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <utility>

namespace flux::kernels {

__device__ __forceinline__ void chain_start() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

inline bool chained_launch_allowed_by_env() {
  static const bool allowed = [] {
    const char* e = std::getenv("FLUX_PDL");
    return e == nullptr || std::strcmp(e, "0") != 0;
  }();
  return allowed;
}

// True when `kernel` runs from code compiled for compute capability 9.0 or later, the only code where chain_start()
// waits: a kernel JIT-compiled from the portable sm_80 PTX (on a GPU newer than the sm_90a code) must launch plain.
template <typename... Params>
bool kernel_waits_on_chain(void (*kernel)(Params...)) {
  cudaFuncAttributes attributes{};
  if (cudaFuncGetAttributes(&attributes, kernel) != cudaSuccess) {
    (void)cudaGetLastError();  // not a launch error: the kernel just launches plain
    return false;
  }
  return attributes.ptxVersion >= 90;
}

// kernel<<<grid, block, smem, stream>>>(args...), with the programmatic-serialization attribute when enabled.
template <typename... Params, typename... Args>
void launch_chained(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                    Args&&... args) {
  cudaLaunchAttribute attr{};
  attr.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = grid;
  config.blockDim = block;
  config.dynamicSmemBytes = smem;
  config.stream = stream;
  config.attrs = &attr;
  // Decided once per kernel signature: every kernel of a build is compiled for the same targets.
  static const bool chained = chained_launch_allowed_by_env() && kernel_waits_on_chain(kernel);
  config.numAttrs = chained ? 1 : 0;
  // Errors surface like a <<<>>> launch's: through the stream's next checked call.
  (void)cudaLaunchKernelEx(&config, kernel, std::forward<Args>(args)...);
}

}  // namespace flux::kernels
