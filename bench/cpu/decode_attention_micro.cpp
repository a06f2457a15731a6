// Decode attention alone, as a decode step of the demo model runs it: 30 layers, each with its own fp16 K/V cache of
// `rows` rows (9 query heads, 3 KV heads, head dim 64), one query per layer, per ISA the CPU runs. "dram": 30
// separate caches (90 MiB at 4,096 rows, more than the 32 MiB L3, so each step streams them like the model does);
// "cache": one layer's cache 30 times. Process CPU time and wall per step, medians; OMP_NUM_THREADS picks the threads,
// MICRO_ISA=avx512-vnni|avx2|scalar one level.
// Built and run by decode_attention_micro.sh; bench/RESULTS.md has the numbers.
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "engine/attention/attention_cpu.h"
#include "engine/backend/cpu/half_rows.h"
#include "engine/backend/cpu/quant_dot.h"

using namespace flux::engine;

namespace {
double now_us(clockid_t clock) {
  timespec t;
  clock_gettime(clock, &t);
  return t.tv_sec * 1e6 + t.tv_nsec * 1e-3;
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main() {
  const char* only_isa = std::getenv("MICRO_ISA");  // e.g. avx512-vnni: that level only
  constexpr int kLayers = 30, kHeads = 9, kKvHeads = 3, kDim = 64;
  constexpr int64_t kKvDim = int64_t{kKvHeads} * kDim;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::printf("| rows | cache | isa | threads | process CPU ms/step | wall ms/step |\n|---:|---|---|---:|---:|---:|\n");
  for (const int64_t rows : {int64_t{512}, int64_t{4096}}) {
    std::vector<std::vector<uint16_t>> k(kLayers), v(kLayers);
    std::vector<float> tmp(static_cast<std::size_t>(rows * kKvDim));
    for (int l = 0; l < kLayers; ++l) {
      for (auto* dst : {&k[l], &v[l]}) {
        for (float& x : tmp) x = normal(rng);
        dst->resize(tmp.size());
        cpu::f32_to_f16_n(tmp.data(), dst->data(), static_cast<int64_t>(tmp.size()));
      }
    }
    std::vector<float> q(kLayers * kHeads * kDim), out(kHeads * kDim);
    for (float& x : q) x = normal(rng) * 2.0f;
    const KvRange all{0, rows};
    for (const bool dram : {true, false})
      for (const cpu::Isa isa : {cpu::Isa::Scalar, cpu::Isa::Avx2, cpu::Isa::Avx512Vnni}) {
        if (!cpu::isa_supported(isa) || (only_isa && std::strcmp(only_isa, cpu::isa_name(isa)) != 0)) continue;
        cpu::force_isa(isa);
        std::vector<double> cpu_ms, wall_ms;
        const int reps = isa == cpu::Isa::Scalar ? 5 : 25;
        for (int r = 0; r < reps; ++r) {
          const double c0 = now_us(CLOCK_PROCESS_CPUTIME_ID), w0 = now_us(CLOCK_MONOTONIC);
          for (int l = 0; l < kLayers; ++l) {
            const int src = dram ? l : 0;
            attention_decode_cpu(q.data() + l * kHeads * kDim, KvRows{k[src].data(), v[src].data(), true},
                                 std::span<const KvRange>(&all, 1), kHeads, kKvHeads, kDim, out.data());
          }
          cpu_ms.push_back((now_us(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e3);
          wall_ms.push_back((now_us(CLOCK_MONOTONIC) - w0) / 1e3);
        }
        std::printf("| %lld | %s | %s | %d | %.2f | %.2f |\n", static_cast<long long>(rows), dram ? "dram" : "cache",
                    cpu::isa_name(isa), omp_get_max_threads(), median(cpu_ms), median(wall_ms));
      }
    cpu::force_isa(std::nullopt);
  }
}
