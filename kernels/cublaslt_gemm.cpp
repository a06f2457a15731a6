#include "kernels/cublaslt_gemm.h"

#include "kernels/cuda_check.h"

namespace flux::kernels {
namespace {

constexpr std::size_t kWorkspaceBytes = 32u << 20;

// The largest power of two (up to 256) dividing the address: cuBLASLt picks kernels by operand alignment.
int alignment_of(const void* p) {
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  int align = 256;
  while (align > 1 && a % static_cast<std::uintptr_t>(align) != 0) align /= 2;
  return align;
}

}  // namespace

struct LtGemm::Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulAlgo_t algo{};
  ~Plan() {
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (desc) cublasLtMatmulDescDestroy(desc);
  }
};

LtGemm::LtGemm(cudaStream_t stream) : stream_(stream), workspace_bytes_(kWorkspaceBytes) {
  FLUX_CUBLAS_CHECK(cublasLtCreate(&handle_));
  FLUX_CUDA_CHECK(cudaMalloc(&workspace_, workspace_bytes_));
}

LtGemm::~LtGemm() {
  plans_.clear();
  if (workspace_) cudaFree(workspace_);
  if (handle_) cublasLtDestroy(handle_);
}

LtGemm::Plan& LtGemm::plan_for(const Key& key) {
  auto it = plans_.find(key);
  if (it != plans_.end()) return *it->second;
  const auto [n, in, out, align_x, align_w, align_y] = key;
  auto plan = std::make_unique<Plan>();
  // Column-major view: Y^T [out, n] = W [in, out]^T · X^T [in, n], with W and X^T exactly the row-major buffers.
  FLUX_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t trans = CUBLAS_OP_T, no_trans = CUBLAS_OP_N;
  FLUX_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof(trans)));
  FLUX_CUBLAS_CHECK(
      cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, &no_trans, sizeof(no_trans)));
  FLUX_CUBLAS_CHECK(
      cublasLtMatrixLayoutCreate(&plan->a, CUDA_R_16BF, static_cast<uint64_t>(in), static_cast<uint64_t>(out), in));
  FLUX_CUBLAS_CHECK(
      cublasLtMatrixLayoutCreate(&plan->b, CUDA_R_16BF, static_cast<uint64_t>(in), static_cast<uint64_t>(n), in));
  FLUX_CUBLAS_CHECK(
      cublasLtMatrixLayoutCreate(&plan->c, CUDA_R_16BF, static_cast<uint64_t>(out), static_cast<uint64_t>(n), out));

  cublasLtMatmulPreference_t pref = nullptr;
  FLUX_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const uint32_t ax = static_cast<uint32_t>(align_w), bx = static_cast<uint32_t>(align_x),
                 cx = static_cast<uint32_t>(align_y);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace_bytes_,
                                       sizeof(workspace_bytes_));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &ax, sizeof(ax));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &bx, sizeof(bx));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &cx, sizeof(cx));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &cx, sizeof(cx));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t st =
      cublasLtMatmulAlgoGetHeuristic(handle_, plan->desc, plan->a, plan->b, plan->c, plan->c, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  FLUX_CUBLAS_CHECK(st);
  engine::require(found > 0, "cuBLASLt has no bf16 GEMM for [{}, {}] x [{}, {}]^T", n, in, out, in);
  plan->algo = result.algo;
  return *plans_.emplace(key, std::move(plan)).first->second;
}

void LtGemm::run(const void* x, const void* w, void* y, int64_t n, int64_t in, int64_t out) {
  if (n == 0 || out == 0) return;
  Plan& plan = plan_for(Key{n, in, out, alignment_of(x), alignment_of(w), alignment_of(y)});
  const float alpha = 1.0f, beta = 0.0f;
  FLUX_CUBLAS_CHECK(cublasLtMatmul(handle_, plan.desc, &alpha, w, plan.a, x, plan.b, &beta, y, plan.c, y, plan.c,
                                   &plan.algo, workspace_, workspace_bytes_, stream_));
}

}  // namespace flux::kernels
