// Thread-CPU time per decode GEMV (activation quantization + one dot body call per weight row), one thread, per ISA
// the CPU runs and per activation level: a Q4_1 [1536, 576] weight that stays in cache, the same x96 (53 MB, streamed
// from DRAM) and a Q8_0 lm_head x3 (88 MB). Thread CPU time, not wall, so a busy machine moves the numbers less.
// Built and run by gemv_micro.sh; bench/RESULTS.md has the numbers.
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "engine/backend/cpu/q8_activations.h"
#include "engine/backend/cpu/quant_dot.h"
#include "engine/backend/random_blocks.h"
#include "engine/backend/weight_dtype.h"
#include "engine/format/ggml_quant.h"

using namespace flux::engine;

namespace {
double thread_us() {
  timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e6 + t.tv_nsec * 1e-3;
}
struct Shape {
  StorageType storage;
  DType dtype;
  int64_t rows, cols;
  const char* name;
};
}  // namespace

int main() {
  for (const Shape s : {Shape{StorageType::Q4_1, DType::Q4_1, 1536, 576, "q4_1 1536x576 (cache)"},
                        Shape{StorageType::Q4_1, DType::Q4_1, 1536 * 96, 576, "q4_1 x96 (DRAM)"},
                        Shape{StorageType::Q8_0, DType::Q8_0, 49152 * 3, 576, "q8_0 lm_head x3 (DRAM)"}}) {
    std::vector<std::byte> w(static_cast<std::size_t>(tensor_bytes(s.storage, s.rows * s.cols)));
    fill_random_blocks(s.storage, w, s.rows, s.cols, 0.05f, 1);
    std::vector<float> x(static_cast<std::size_t>(s.cols));
    std::mt19937 rng(3);
    std::uniform_real_distribution<float> u(-1, 1);
    for (float& v : x) v = u(rng);
    std::vector<cpu::Q8Block> a(static_cast<std::size_t>(s.cols / 32));
    std::vector<float> y(static_cast<std::size_t>(s.rows));
    const int64_t rb = dtype_row_bytes(s.dtype, s.cols);
    const auto* wb = reinterpret_cast<const uint8_t*>(w.data());
    for (const bool residual : {false, true})
      for (const cpu::Isa isa : {cpu::Isa::Scalar, cpu::Isa::Avx2, cpu::Isa::Avx512Vnni}) {
        if (!cpu::isa_supported(isa)) continue;
        const cpu::RowDot dot = cpu::row_dot(s.dtype, isa, residual);
        const int reps = isa == cpu::Isa::Scalar ? 3 : s.rows > 10000 ? 15 : 400;
        std::vector<double> us;
        for (int k = 0; k < reps; ++k) {
          const double t0 = thread_us();
          cpu::quantize_row_q8(x.data(), a.data(), s.cols, residual);
          for (int64_t i = 0; i < s.rows; ++i) y[static_cast<std::size_t>(i)] = dot(wb + i * rb, a.data(), s.cols);
          us.push_back(thread_us() - t0);
        }
        std::sort(us.begin(), us.end());
        const double median = us[us.size() / 2];
        std::printf("%-24s %-12s %-5s median %9.1f us  %5.1f GB/s of weights  (y[5] = %g)\n", s.name,
                    cpu::isa_name(isa), residual ? "q8x2" : "q8", median, double(s.rows * rb) / median / 1e3, y[5]);
      }
  }
}
