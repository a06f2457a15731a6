// RMSNorm and SwiGLU rows (cpu/row_ops.h) at every ISA level the CPU runs against double-precision references: odd
// lengths (the vector bodies' tails), in-place norms, and SwiGLU over the range where e^-g under- or overflows.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "engine/backend/cpu/quant_dot.h"
#include "engine/backend/cpu/row_ops.h"
#include "engine/backend/cpu_backend.h"

namespace flux::engine {
namespace {

std::vector<cpu::Isa> levels() {
  std::vector<cpu::Isa> out;
  for (cpu::Isa i : {cpu::Isa::Scalar, cpu::Isa::Avx2, cpu::Isa::Avx512Vnni})
    if (cpu::isa_supported(i)) out.push_back(i);
  return out;
}

struct IsaReset {
  ~IsaReset() { cpu::force_isa(std::nullopt); }
};

std::vector<float> uniform(std::size_t n, float lo, float hi, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> x(n);
  for (float& v : x) v = u(rng);
  return x;
}

double silu_ref(double g) {
  return g / (1.0 + std::exp(-g));
}

TEST(RowOps, RmsNormMatchesTheDoubleReferenceAtEveryIsaLevel) {
  IsaReset reset;
  for (cpu::Isa isa : levels()) {
    cpu::force_isa(isa);
    for (int64_t n : {1, 7, 8, 15, 16, 17, 64, 576, 1001}) {
      SCOPED_TRACE(std::string(cpu::isa_name(isa)) + " n=" + std::to_string(n));
      const std::vector<float> x = uniform(static_cast<std::size_t>(n), -3.0f, 3.0f, 1 + static_cast<uint32_t>(n));
      const std::vector<float> w = uniform(static_cast<std::size_t>(n), 0.5f, 2.0f, 7);
      double ss = 0.0;
      for (float v : x) ss += static_cast<double>(v) * v;
      const double scale = 1.0 / std::sqrt(ss / static_cast<double>(n) + 1e-5);
      std::vector<float> out(x.size()), in_place = x;
      cpu::rms_norm_row(x.data(), w.data(), 1e-5f, out.data(), n);
      cpu::rms_norm_row(in_place.data(), w.data(), 1e-5f, in_place.data(), n);
      for (int64_t c = 0; c < n; ++c) {
        const double want = x[c] * scale * w[c];
        EXPECT_NEAR(out[c], want, 3e-7 * std::fabs(want) + 1e-30) << c;
        EXPECT_EQ(in_place[c], out[c]) << c;
      }
    }
  }
}

TEST(RowOps, SwigluMatchesTheDoubleReferenceAtEveryIsaLevel) {
  IsaReset reset;
  // Edges: e^-g past fp32's range both ways (silu = g, silu = -0), around exp's clamps, zero, tiny, and 1001 random
  // values (a length no vector width divides).
  std::vector<float> g = {0.0f,  -0.0f,  1e-30f, -1e-30f, 1.0f,  -1.0f,  20.0f, -20.0f, 86.9f, -86.9f,
                          87.0f, -87.0f, 87.5f,  -87.5f,  88.5f, -88.5f, 88.7f, -88.7f, 89.0f, -89.0f,
                          90.0f, -90.0f, 100.0f, -100.f,  1e4f,  -1e4f,  1e30f, -1e30f, 0.5f,  -0.5f};
  const std::vector<float> random = uniform(1001, -30.0f, 30.0f, 11);
  g.insert(g.end(), random.begin(), random.end());
  const std::vector<float> u = uniform(g.size(), -2.0f, 2.0f, 12);
  for (cpu::Isa isa : levels()) {
    SCOPED_TRACE(cpu::isa_name(isa));
    cpu::force_isa(isa);
    for (std::size_t n : {std::size_t{1}, std::size_t{9}, g.size()}) {
      std::vector<float> out(n);
      cpu::swiglu_n(g.data(), u.data(), out.data(), static_cast<int64_t>(n));
      for (std::size_t i = 0; i < n; ++i) {
        const double want = silu_ref(g[i]) * u[i];
        // 1e-36: silu(g) for g < -88.7 is below 1e-36 and libm's e^-g is inf there too (result -0).
        EXPECT_NEAR(out[i], want, 6e-7 * std::fabs(want) + 1e-36) << "g=" << g[i] << " u=" << u[i];
      }
    }
    const float nan = std::numeric_limits<float>::quiet_NaN(), one = 1.0f;
    float out = 0.0f;
    cpu::swiglu_n(&nan, &one, &out, 1);
    EXPECT_TRUE(std::isnan(out));
  }
}

// The backend's ops cut long inputs into parallel chunks: the same values as one call over everything.
TEST(RowOps, BackendOpsEqualTheRowBodies) {
  CpuBackend backend(2);
  const int64_t rows = 50, cols = 1536;  // 76,800 elements: the parallel SwiGLU
  const std::vector<float> g = uniform(static_cast<std::size_t>(rows * cols), -8.0f, 8.0f, 21);
  const std::vector<float> u = uniform(g.size(), -1.0f, 1.0f, 22);
  const std::vector<float> w = uniform(static_cast<std::size_t>(cols), 0.5f, 2.0f, 23);
  Tensor tg = backend.upload(g, rows, cols), tu = backend.upload(u, rows, cols), tw = backend.upload(w, 1, cols);
  Tensor out = backend.empty(rows, cols), norm = backend.empty(rows, cols);
  backend.swiglu(tg, tu, out);
  backend.rms_norm(tg, tw, 1e-6f, norm);
  std::vector<float> got(g.size()), got_norm(g.size()), want(g.size()), want_norm(g.size());
  backend.download(out, got);
  backend.download(norm, got_norm);
  cpu::swiglu_n(g.data(), u.data(), want.data(), rows * cols);
  for (int64_t r = 0; r < rows; ++r)
    cpu::rms_norm_row(g.data() + r * cols, w.data(), 1e-6f, want_norm.data() + r * cols, cols);
  EXPECT_EQ(got, want);
  EXPECT_EQ(got_norm, want_norm);
}

}  // namespace
}  // namespace flux::engine
