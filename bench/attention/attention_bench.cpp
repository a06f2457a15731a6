// flux_attention_bench: times our prefill attention on the GPU with CUDA events (warm-up, median of N) for FA,
// streaming (sink 128 + window 2048, and the default 1024), triangle and XAttention at 8K-128K on the Qwen3-8B shape
// (32 q / 8 kv heads, d 128) and the SmolLM2 shape (9 / 3, d 64). FA/streaming/triangle time the kernel alone with
// block lists built and uploaded once (as peers build their masks outside the timed region); xattn times the whole
// CudaBackend op (scoring, selection, lists, kernel). One JSON line per case on stdout (bench/attention/run.sh
// joins them with peers.py's lines). Usage: flux_attention_bench [--shapes qwen3-8b,smollm2] [--ns 8192,32768]
// [--modes fa,streaming,streaming1024,triangle,xattn] [--xattn-max N]
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/attention/attention_plan.h"
#include "engine/backend/backend.h"
#include "engine/backend/cuda_factory.h"
#include "kernels/launch.h"

namespace {

using flux::engine::AttentionMode;
using flux::engine::AttentionPlan;

#define BENCH_CHECK(call)                                                                                      \
  do {                                                                                                         \
    const cudaError_t e_ = (call);                                                                             \
    if (e_ != cudaSuccess) {                                                                                   \
      std::fprintf(stderr, "CUDA error %s at %s:%d: %s\n", #call, __FILE__, __LINE__, cudaGetErrorString(e_)); \
      std::exit(2);                                                                                            \
    }                                                                                                          \
  } while (0)

struct Shape {
  std::string name;
  int n_heads, n_kv_heads, head_dim;
};

struct Mode {
  std::string name;
  AttentionPlan plan;
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

// Device buffer of rows x cols bf16 filled with uniform(-scale, scale): a random tile of up to 4096 rows is made on the
// host and repeated down the tensor (timing does not depend on the values, only on them not being zeros).
__nv_bfloat16* random_device(int64_t rows, int64_t cols, uint32_t seed, float scale) {
  __nv_bfloat16* d = nullptr;
  BENCH_CHECK(cudaMalloc(&d, static_cast<size_t>(rows * cols) * 2));
  const int64_t tile_rows = std::min<int64_t>(rows, 4096);
  std::vector<__nv_bfloat16> host(static_cast<size_t>(tile_rows * cols));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  for (auto& x : host) x = __float2bfloat16(dist(rng));
  for (int64_t r = 0; r < rows; r += tile_rows) {
    const int64_t n = std::min(tile_rows, rows - r);
    BENCH_CHECK(cudaMemcpy(d + r * cols, host.data(), static_cast<size_t>(n * cols) * 2, cudaMemcpyHostToDevice));
  }
  return d;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int reps_for(int64_t n) {
  return n >= 131072 ? 3 : (n >= 65536 ? 5 : 15);
}

struct Buffers {
  __nv_bfloat16 *q, *k, *v, *out;
};

// Kernel-only timing with prebuilt device lists.
double time_kernel(const Shape& s, const AttentionPlan& plan, int64_t n, const Buffers& b, cudaStream_t stream,
                   double* density) {
  const flux::engine::BlockLists lists = flux::engine::build_block_lists(plan, n);
  *density = lists.density();
  int32_t *offsets = nullptr, *blocks = nullptr;
  BENCH_CHECK(cudaMalloc(&offsets, lists.offsets.size() * 4));
  BENCH_CHECK(cudaMalloc(&blocks, std::max<size_t>(lists.kv_blocks.size(), 1) * 4));
  BENCH_CHECK(cudaMemcpy(offsets, lists.offsets.data(), lists.offsets.size() * 4, cudaMemcpyHostToDevice));
  BENCH_CHECK(cudaMemcpy(blocks, lists.kv_blocks.data(), lists.kv_blocks.size() * 4, cudaMemcpyHostToDevice));
  flux::kernels::PrefillArgs a;
  a.q = b.q;
  a.k = b.k;
  a.v = b.v;
  a.out = b.out;
  a.offsets = offsets;
  a.kv_blocks = blocks;
  a.n_q = n;
  a.q_pos0 = 0;
  a.n_kv = n;
  a.n_heads = s.n_heads;
  a.n_kv_heads = s.n_kv_heads;
  a.head_dim = s.head_dim;
  a.list_heads = lists.n_heads;
  a.n_q_blocks = lists.n_q_blocks;
  a.scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));
  a.mask.mode = static_cast<int>(plan.mode);
  a.mask.block = plan.block;
  a.mask.sink = plan.sink;
  a.mask.window = plan.window;
  a.mask.n_last = plan.n_last;
  a.mask.token_exact = plan.token_exact ? 1 : 0;
  a.mask.n_tokens = n;
  cudaEvent_t e0, e1;
  BENCH_CHECK(cudaEventCreate(&e0));
  BENCH_CHECK(cudaEventCreate(&e1));
  std::vector<double> ms;
  const int reps = reps_for(n);
  for (int it = -2; it < reps; ++it) {  // two warm-up runs
    BENCH_CHECK(cudaEventRecord(e0, stream));
    if (!flux::kernels::launch_attention_prefill(a, stream)) {
      std::fprintf(stderr, "no kernel for head_dim %d\n", s.head_dim);
      std::exit(2);
    }
    BENCH_CHECK(cudaGetLastError());
    BENCH_CHECK(cudaEventRecord(e1, stream));
    BENCH_CHECK(cudaEventSynchronize(e1));
    float t = 0.0f;
    BENCH_CHECK(cudaEventElapsedTime(&t, e0, e1));
    if (it >= 0) ms.push_back(t);
  }
  BENCH_CHECK(cudaEventDestroy(e0));
  BENCH_CHECK(cudaEventDestroy(e1));
  BENCH_CHECK(cudaFree(offsets));
  BENCH_CHECK(cudaFree(blocks));
  return median(ms);
}

// The whole CudaBackend op (what a model layer pays), timed with the backend's own events.
double time_backend_op(flux::engine::Backend& be, const Shape& s, const AttentionPlan& plan, int64_t n,
                       const Buffers& b, double* density) {
  using flux::engine::DType;
  using flux::engine::Tensor;
  const int64_t qc = int64_t{s.n_heads} * s.head_dim, kc = int64_t{s.n_kv_heads} * s.head_dim;
  const Tensor q{nullptr, b.q, DType::BF16, n, qc}, k{nullptr, b.k, DType::BF16, n, kc},
      v{nullptr, b.v, DType::BF16, n, kc};
  Tensor out{nullptr, b.out, DType::BF16, n, qc};
  std::vector<double> ms;
  const int reps = std::max(3, reps_for(n) / 3);
  for (int it = -1; it < reps; ++it) {
    const auto m0 = be.mark();
    *density = be.attention_prefill(q, k, v, 0, n, s.n_heads, s.n_kv_heads, s.head_dim, plan, out, false).density;
    const auto m1 = be.mark();
    if (it >= 0) ms.push_back(be.elapsed_ms(m0, m1));
  }
  return median(ms);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> shapes = {"qwen3-8b", "smollm2"};
  std::vector<int64_t> ns = {8192, 32768, 65536, 131072};
  std::vector<std::string> modes = {"fa", "streaming", "streaming1024", "triangle", "xattn"};
  int64_t xattn_max = 131072;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], val = argv[i + 1];
    if (key == "--shapes") {
      shapes = split(val);
    } else if (key == "--ns") {
      ns.clear();
      for (const auto& x : split(val)) ns.push_back(std::stoll(x));
    } else if (key == "--modes") {
      modes = split(val);
    } else if (key == "--xattn-max") {
      xattn_max = std::stoll(val);
    } else {
      std::fprintf(stderr, "unknown option %s\n", key.c_str());
      return 2;
    }
  }
  if (!flux::engine::cuda_device_available()) {
    std::fprintf(stderr, "flux_attention_bench: no CUDA device\n");
    return 2;
  }
  cudaDeviceProp prop{};
  BENCH_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::fprintf(stderr, "device: %s\n", prop.name);
  auto backend = flux::engine::make_cuda_backend();
  cudaStream_t stream;
  BENCH_CHECK(cudaStreamCreate(&stream));

  for (const auto& shape_name : shapes) {
    const Shape s = shape_name == "smollm2" ? Shape{"smollm2", 9, 3, 64} : Shape{"qwen3-8b", 32, 8, 128};
    for (const int64_t n : ns) {
      const int64_t qc = int64_t{s.n_heads} * s.head_dim, kc = int64_t{s.n_kv_heads} * s.head_dim;
      Buffers b{random_device(n, qc, 1, 2.0f), random_device(n, kc, 2, 2.0f), random_device(n, kc, 3, 1.0f), nullptr};
      BENCH_CHECK(cudaMalloc(&b.out, static_cast<size_t>(n * qc) * 2));
      for (const auto& mode : modes) {
        AttentionPlan plan;  // block 128, sink 128, window 1024, n_last 128, stride 16, threshold 0.9
        if (mode == "fa") {
          plan.mode = AttentionMode::Full;
        } else if (mode == "streaming") {
          plan.mode = AttentionMode::Streaming;
          plan.window = 2048;
        } else if (mode == "streaming1024") {
          plan.mode = AttentionMode::Streaming;
        } else if (mode == "triangle") {
          plan.mode = AttentionMode::Triangle;
          plan.window = 2048;
        } else if (mode == "xattn") {
          plan.mode = AttentionMode::XAttention;
          if (n > xattn_max) continue;
        } else {
          std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
          return 2;
        }
        double density = 0.0;
        const double ms = plan.mode == AttentionMode::XAttention ? time_backend_op(*backend, s, plan, n, b, &density)
                                                                 : time_kernel(s, plan, n, b, stream, &density);
        const double causal_flops = 2.0 * static_cast<double>(n) * n * s.n_heads * s.head_dim;
        std::printf(
            "{\"impl\": \"flux\", \"shape\": \"%s\", \"mode\": \"%s\", \"n\": %lld, \"ms\": %.4f, \"tflops\": %.1f, "
            "\"density\": %.4f, \"device\": \"%s\"}\n",
            s.name.c_str(), mode.c_str(), static_cast<long long>(n), ms,
            mode == "fa" ? causal_flops / (ms * 1e-3) / 1e12 : 0.0, density, prop.name);
        std::fflush(stdout);
      }
      for (auto* p : {b.q, b.k, b.v, b.out}) BENCH_CHECK(cudaFree(p));
    }
  }
  BENCH_CHECK(cudaStreamDestroy(stream));
  return 0;
}
