// FLUX_HOST_DEVICE marks small dependency-free functions that both host code and CUDA kernels call (the one
// definition of a rule, e.g. a KV ring slot or a random value, compiled for both sides).
#pragma once

#if defined(__CUDACC__)
#define FLUX_HOST_DEVICE __host__ __device__
#else
#define FLUX_HOST_DEVICE
#endif
