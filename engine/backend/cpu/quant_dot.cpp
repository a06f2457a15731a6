#include "engine/backend/cpu/quant_dot.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string_view>

#include "engine/core/error.h"

namespace flux::engine::cpu {
namespace {

Isa best_isa() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("fma"))
    return Isa::Avx512Vnni;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2;
#endif
  return Isa::Scalar;
}

Isa env_cap() {
  const char* env = std::getenv("FLUX_CPU_ISA");
  if (env == nullptr) return Isa::Avx512Vnni;
  const std::string_view v(env);
  if (v == "scalar") return Isa::Scalar;
  if (v == "avx2") return Isa::Avx2;
  if (v == "avx512" || v.empty()) return Isa::Avx512Vnni;
  fail("FLUX_CPU_ISA={}: use scalar, avx2 or avx512", v);
}

std::atomic<int> g_forced{-1};

}  // namespace

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return "scalar";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512Vnni:
      return "avx512-vnni";
  }
  return "?";
}

bool isa_supported(Isa isa) {
  static const Isa best = best_isa();
  return isa <= best;
}

Isa active_isa() {
  static const Isa best = best_isa();
  static const Isa env = env_cap();
  Isa isa = std::min(best, env);
  const int forced = g_forced.load(std::memory_order_relaxed);
  if (forced >= 0) isa = std::min(isa, static_cast<Isa>(forced));
  return isa;
}

void force_isa(std::optional<Isa> isa) {
  require(!isa || isa_supported(*isa), "this CPU cannot run the {} kernels", isa ? isa_name(*isa) : "");
  g_forced.store(isa ? static_cast<int>(*isa) : -1, std::memory_order_relaxed);
}

RowDot row_dot(DType type, Isa isa, bool residual) {
  RowDot f = nullptr;
  if (isa == Isa::Avx512Vnni) f = row_dot_avx512(type, residual);
  if (f == nullptr && isa >= Isa::Avx2) f = row_dot_avx2(type, residual);
  if (f == nullptr) f = row_dot_scalar(type, residual);
  require(f != nullptr, "no CPU dot-product kernel for weight type {}", static_cast<int>(type));
  return f;
}

}  // namespace flux::engine::cpu
