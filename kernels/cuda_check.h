// Checking macros for CUDA runtime and cuBLAS calls: a failure becomes flux::engine::Error naming the call, the
// error string and file:line, so a bad launch surfaces as a message instead of corrupting later results.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include "engine/core/error.h"

#define FLUX_CUDA_CHECK(call)                                                                                         \
  do {                                                                                                                \
    const cudaError_t flux_err_ = (call);                                                                             \
    if (flux_err_ != cudaSuccess)                                                                                     \
      ::flux::engine::fail("CUDA error in {}: {} ({}:{})", #call, cudaGetErrorString(flux_err_), __FILE__, __LINE__); \
  } while (0)

#define FLUX_CUBLAS_CHECK(call)                                                                                  \
  do {                                                                                                           \
    const cublasStatus_t flux_st_ = (call);                                                                      \
    if (flux_st_ != CUBLAS_STATUS_SUCCESS)                                                                       \
      ::flux::engine::fail("cuBLAS error in {}: {} ({}:{})", #call, cublasLtGetStatusString(flux_st_), __FILE__, \
                           __LINE__);                                                                            \
  } while (0)

// After a kernel launch: catches bad configurations at once (execution errors surface at the next sync).
#define FLUX_CUDA_CHECK_LAUNCH(what)                                                                           \
  do {                                                                                                         \
    const cudaError_t flux_err_ = cudaGetLastError();                                                          \
    if (flux_err_ != cudaSuccess)                                                                              \
      ::flux::engine::fail("CUDA kernel {} failed to launch: {} ({}:{})", what, cudaGetErrorString(flux_err_), \
                           __FILE__, __LINE__);                                                                \
  } while (0)
