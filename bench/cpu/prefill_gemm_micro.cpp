// Thread-CPU time of one long-prefill projection (CpuBackend::matmul, one thread) per path: dequantized tiles x
// cblas_sgemm against the int8 VNNI GEMM (cpu/int8_gemm.h, activations quantized in one or two levels), on the demo
// model's shapes with 4,096 activation rows (Q4_1 random blocks; Q8_0 and Q6_K on the gate/up shape). Each time includes the path's own preparation
// (activation quantization and panel packing, or tile dequantization). Thread CPU time, not wall, so a busy machine
// moves the numbers less. Built and run by prefill_gemm_micro.sh; bench/RESULTS.md has the numbers.
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "engine/backend/cpu/quant_dot.h"
#include "engine/backend/cpu/weight_matmul.h"
#include "engine/backend/cpu_backend.h"
#include "engine/backend/random_blocks.h"
#include "engine/format/ggml_quant.h"

using namespace flux::engine;

namespace {
double thread_s() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}
struct Shape {
  int64_t n, rows, cols;
  const char* name;
  StorageType type = StorageType::Q4_1;
};
}  // namespace

int main() {
  CpuBackend backend(1);
  for (const Shape s : {Shape{4096, 1536, 576, "gate/up [1536, 576]"}, Shape{4096, 576, 1536, "down [576, 1536]"},
                        Shape{4096, 576, 576, "q/o [576, 576]"},
                        Shape{4096, 1536, 768, "q8_0 [1536, 768]", StorageType::Q8_0},
                        Shape{4096, 1536, 768, "q6_k [1536, 768]", StorageType::Q6_K}}) {
    std::vector<std::byte> blocks(static_cast<std::size_t>(tensor_bytes(s.type, s.rows * s.cols)));
    fill_random_blocks(s.type, blocks, s.rows, s.cols, 0.05f, 1);
    const Tensor w = backend.upload_weight(s.type, blocks, s.rows, s.cols);
    std::vector<float> x(static_cast<std::size_t>(s.n * s.cols));
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-1, 1);
    for (float& v : x) v = u(rng);
    const Tensor xt = backend.upload(x, s.n, s.cols);
    Tensor out = backend.empty(s.n, s.rows);
    std::vector<float> reference, y(static_cast<std::size_t>(s.n * s.rows));
    struct Variant {
      cpu::GemmPath path;
      bool residual;
      const char* name;
    };
    for (const Variant v : {Variant{cpu::GemmPath::DequantTile, true, "tile x sgemm (fp32)"},
                            Variant{cpu::GemmPath::Int8, true, "int8 vnni, q8x2"},
                            Variant{cpu::GemmPath::Int8, false, "int8 vnni, q8"}}) {
      cpu::force_gemm_path(v.path);
      cpu::force_residual_activations(v.residual);
      std::vector<double> secs;
      for (int k = 0; k < 5; ++k) {
        const double t0 = thread_s();
        backend.matmul(xt, w, out);
        secs.push_back(thread_s() - t0);
      }
      std::sort(secs.begin(), secs.end());
      backend.download(out, y);
      if (reference.empty()) reference = y;
      double err = 0, mag = 0;
      for (std::size_t i = 0; i < y.size(); ++i) err = std::max(err, double(std::fabs(y[i] - reference[i]))),
                                                   mag = std::max(mag, double(std::fabs(reference[i])));
      const double macs = double(s.n) * double(s.rows) * double(s.cols);
      std::printf("%-20s %-22s median %7.1f ms  %6.1f GMAC/s  (max |y - tile| / max |tile| = %.1e)\n", s.name, v.name,
                  secs[secs.size() / 2] * 1e3, macs / secs[secs.size() / 2] * 1e-9, err / mag);
    }
  }
  cpu::force_gemm_path(cpu::GemmPath::Auto);
  cpu::force_residual_activations(std::nullopt);
}
