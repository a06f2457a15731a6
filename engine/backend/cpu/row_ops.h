// The element-wise and per-row ops of a prefill row block on the CPU (RMSNorm, SwiGLU), one body per instruction set
// (quant_dot.h's level: AVX-512, AVX2/FMA, portable), picked at run time: the engine is built for baseline x86-64,
// where the loops ran scalar (libm's expf per element made SwiGLU ~5 % of a 4K streaming prefill).
#pragma once

#include <cstdint>

namespace flux::engine::cpu {

// out[c] = x[c] · w[c] / sqrt(mean(x²) + eps) for one row of n values (the sum of squares in double; out may be x).
void rms_norm_row(const float* x, const float* w, float eps, float* out, int64_t n);

// out[i] = silu(g[i]) · u[i] = g / (1 + e^-g) · u for n values. The vector bodies' e^x is within 2 ulp of libm's
// over the range where silu is neither g nor 0 in fp32.
void swiglu_n(const float* g, const float* u, float* out, int64_t n);

}  // namespace flux::engine::cpu
