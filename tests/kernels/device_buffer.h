// Raw device buffers for the tests that call kernels/launch.h directly (below the Backend seam): allocation freed on
// scope exit, bf16 upload of host floats (already bf16-rounded), download.
#pragma once

#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

namespace flux::engine::testing_gpu {

template <typename T>
struct DeviceBuffer {
  T* ptr = nullptr;
  explicit DeviceBuffer(std::size_t n) {
    EXPECT_EQ(cudaMalloc(&ptr, std::max<std::size_t>(n, 1) * sizeof(T)), cudaSuccess);
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
};

inline std::unique_ptr<DeviceBuffer<__nv_bfloat16>> upload_bf16(const std::vector<float>& host) {
  std::vector<__nv_bfloat16> b(host.size());
  for (std::size_t i = 0; i < host.size(); ++i) b[i] = __float2bfloat16(host[i]);
  auto d = std::make_unique<DeviceBuffer<__nv_bfloat16>>(host.size());
  EXPECT_EQ(cudaMemcpy(d->ptr, b.data(), b.size() * 2, cudaMemcpyHostToDevice), cudaSuccess);
  return d;
}

template <typename T>
std::vector<T> download(const T* ptr, std::size_t n) {
  std::vector<T> out(n);
  EXPECT_EQ(cudaMemcpy(out.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return out;
}

}  // namespace flux::engine::testing_gpu
