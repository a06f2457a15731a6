// out = x · wᵀ in bf16 with fp32 accumulation through cuBLASLt, row-major by swapping operands. Descriptors and the
// chosen algorithm are cached per (shape, alignment): decode repeats the same few shapes every step.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <map>
#include <memory>
#include <tuple>

namespace flux::kernels {

class LtGemm {
 public:
  explicit LtGemm(cudaStream_t stream);
  ~LtGemm();
  LtGemm(const LtGemm&) = delete;
  LtGemm& operator=(const LtGemm&) = delete;

  // x [n, in], w [out, in], y [n, out]; all bf16, row-major, contiguous.
  void run(const void* x, const void* w, void* y, int64_t n, int64_t in, int64_t out);

 private:
  struct Plan;
  using Key = std::tuple<int64_t, int64_t, int64_t, int, int, int>;

  Plan& plan_for(const Key& key);

  cudaStream_t stream_;
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  std::size_t workspace_bytes_ = 0;
  std::map<Key, std::unique_ptr<Plan>> plans_;
};

}  // namespace flux::kernels
