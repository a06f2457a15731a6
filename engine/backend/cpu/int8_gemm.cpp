#include "engine/backend/cpu/int8_gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "engine/backend/cpu/quant_blocks.h"
#include "engine/core/error.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace flux::engine::cpu {
namespace {

constexpr int kPanel = 16;                  // weight rows per panel = fp32 lanes of one zmm
constexpr int kBlockBytes = kPanel * 32;    // one 32-element block of a panel as u8
constexpr int kTileRows = 8;                // activation rows per register tile
constexpr int64_t kChunkRows = 128;         // activation rows per task (their Q8 blocks stay in L2)
constexpr int64_t kPanelsPerTask = 4;       // 64 weight rows per task

bool packable(DType t) {
  switch (t) {
    case DType::Q4_0:
    case DType::Q4_1:
    case DType::Q5_0:
    case DType::Q5_1:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q8_0:
    case DType::Q6_K:
      return true;
    default:
      return false;
  }
}

// Scales per 32-element block: Q6_K has one per 16 elements (and its offset, -32 · scale, with it).
int halves(DType t) {
  return t == DType::Q6_K ? 2 : 1;
}

// The panel's u8 value of an element: the block's unsigned value, or for Q8_0's signed ones q + 128 (the 128 · d
// moved into the offset: value = d · (q + 128) - 128 · d).
constexpr int kQ8_0Bias = 128;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// Panel p of w: rows [16p, 16p + 16) (missing rows zero), per 32-element block b the u8 values at
// bytes[b * 512 + (k / 4) * 64 + lane * 4 + k % 4] (vpdpbusd's 4 bytes per lane), scale and offset of half h (of
// `halves(t)`) at [(b * halves + h) * 16 + lane].
void pack_panel(DType t, const uint8_t* w, int64_t rows, int64_t cols, int64_t p, uint8_t* bytes, float* scale,
                float* offset) {
  const BlockShape shape = block_shape(t);
  const int64_t nb = cols / 32, row_bytes = cols / shape.elems * shape.bytes, subs = shape.elems / 32;
  const int hs = halves(t), bias = t == DType::Q8_0 ? kQ8_0Bias : 0;
  SubBlock sb{};
  for (int lane = 0; lane < kPanel; ++lane) {
    const int64_t row = p * kPanel + lane;
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* dst = bytes + b * kBlockBytes + lane * 4;
      if (row >= rows) {
        for (int k = 0; k < 32; ++k) dst[(k / 4) * 64 + k % 4] = 0;
        for (int h = 0; h < hs; ++h) scale[(b * hs + h) * kPanel + lane] = offset[(b * hs + h) * kPanel + lane] = 0.0f;
        continue;
      }
      unpack_sub(t, w + row * row_bytes + (b / subs) * shape.bytes, static_cast<int>(b % subs), sb);
      for (int k = 0; k < 32; ++k) dst[(k / 4) * 64 + k % 4] = static_cast<uint8_t>(sb.q[k] + bias);
      for (int h = 0; h < hs; ++h) {
        scale[(b * hs + h) * kPanel + lane] = sb.scale[h];
        offset[(b * hs + h) * kPanel + lane] = sb.offset[h] - static_cast<float>(bias) * sb.scale[h];
      }
    }
  }
}

#if defined(__x86_64__)
#define FT __attribute__((target("avx2,fma,avx512f,avx512vl,avx512bw,avx512vnni")))
// GCC 12's avx512fintrin.h builds its unmasked conversions on _mm512_undefined_*(), which -Wmaybe-uninitialized
// flags once inlined here (a false positive: every lane is written).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

FT inline __m512i bcast4(const int8_t* q) {
  int32_t v;
  std::memcpy(&v, q, sizeof v);
  return _mm512_set1_epi32(v);
}

// The activation block's represented sum over the elements of half h of H (s, or s0 and s - s0 for Q6_K's halves).
template <int H>
inline float half_sum(const Q8Block& q, int h) {
  if constexpr (H == 1) return q.s;
  return h == 0 ? q.s0 : q.s - q.s0;
}

// One 16-row panel x N activation rows (a: row r's blocks at a + r * nb) into out (row r at out + r * ldo, the
// panel's rows masked by `keep`). Per block and scale (H per block: 32 / H elements each): 8 / H vpdpbusd per
// activation row and level into int32 lanes (the second level after a shift by 8: 256 Σuq + Σuq2, exact in int32),
// then one conversion, one FMA with the weight x activation scale, one FMA for the offset with the activation sum.
template <int N, bool R, int H>
FT void panel_tile(const uint8_t* bytes, const float* scale, const float* offset, int64_t nb, const Q8Block* a,
                   float* out, int64_t ldo, __mmask16 keep, bool accumulate) {
  constexpr int kGroups = 8 / H;  // 4-byte groups per scale
  __m512 acc[N];
#pragma GCC unroll 8
  for (int c = 0; c < N; ++c) acc[c] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
#pragma GCC unroll 2
    for (int h = 0; h < H; ++h) {
      __m512i w[kGroups];
#pragma GCC unroll 8
      for (int g = 0; g < kGroups; ++g) w[g] = _mm512_load_si512(bytes + b * kBlockBytes + (h * kGroups + g) * 64);
      __m512i s[N];
#pragma GCC unroll 8
      for (int c = 0; c < N; ++c) s[c] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int g = 0; g < kGroups; ++g)
#pragma GCC unroll 8
        for (int c = 0; c < N; ++c)
          s[c] = _mm512_dpbusd_epi32(s[c], w[g], bcast4(a[c * nb + b].q + 4 * (h * kGroups + g)));
      if constexpr (R) {
#pragma GCC unroll 8
        for (int c = 0; c < N; ++c) s[c] = _mm512_slli_epi32(s[c], 8);
#pragma GCC unroll 8
        for (int g = 0; g < kGroups; ++g)
#pragma GCC unroll 8
          for (int c = 0; c < N; ++c)
            s[c] = _mm512_dpbusd_epi32(s[c], w[g], bcast4(a[c * nb + b].q2 + 4 * (h * kGroups + g)));
      }
      const __m512 sc = _mm512_load_ps(scale + (b * H + h) * kPanel);
      const __m512 off = _mm512_load_ps(offset + (b * H + h) * kPanel);
#pragma GCC unroll 8
      for (int c = 0; c < N; ++c) {
        const Q8Block& q = a[c * nb + b];
        const __m512 ws = _mm512_mul_ps(sc, _mm512_set1_ps(R ? q.d2 : q.d));
        acc[c] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[c]), ws, acc[c]);
        acc[c] = _mm512_fmadd_ps(off, _mm512_set1_ps(half_sum<H>(q, h)), acc[c]);
      }
    }
  }
#pragma GCC unroll 8
  for (int c = 0; c < N; ++c) {
    if (accumulate) acc[c] = _mm512_add_ps(acc[c], _mm512_maskz_loadu_ps(keep, out + c * ldo));
    _mm512_mask_storeu_ps(out + c * ldo, keep, acc[c]);
  }
}

template <bool R, int H>
FT void panel_rows(const uint8_t* bytes, const float* scale, const float* offset, int64_t nb, const Q8Block* a,
                   int64_t n, float* out, int64_t ldo, __mmask16 keep, bool accumulate) {
  int64_t r = 0;
  for (; r + kTileRows <= n; r += kTileRows)
    panel_tile<kTileRows, R, H>(bytes, scale, offset, nb, a + r * nb, out + r * ldo, ldo, keep, accumulate);
  const Q8Block* at = a + r * nb;
  float* ot = out + r * ldo;
  switch (n - r) {
    case 7: return panel_tile<7, R, H>(bytes, scale, offset, nb, at, ot, ldo, keep, accumulate);
    case 6: return panel_tile<6, R, H>(bytes, scale, offset, nb, at, ot, ldo, keep, accumulate);
    case 5: return panel_tile<5, R, H>(bytes, scale, offset, nb, at, ot, ldo, keep, accumulate);
    case 4: return panel_tile<4, R, H>(bytes, scale, offset, nb, at, ot, ldo, keep, accumulate);
    case 3: return panel_tile<3, R, H>(bytes, scale, offset, nb, at, ot, ldo, keep, accumulate);
    case 2: return panel_tile<2, R, H>(bytes, scale, offset, nb, at, ot, ldo, keep, accumulate);
    case 1: return panel_tile<1, R, H>(bytes, scale, offset, nb, at, ot, ldo, keep, accumulate);
    default: return;
  }
}

// The body for the weight's scales per block and the activation levels.
using PanelRows = void (*)(const uint8_t*, const float*, const float*, int64_t, const Q8Block*, int64_t, float*,
                           int64_t, __mmask16, bool);
PanelRows panel_rows_for(int h, bool residual) {
  if (h == 2) return residual ? panel_rows<true, 2> : panel_rows<false, 2>;
  return residual ? panel_rows<true, 1> : panel_rows<false, 1>;
}
#pragma GCC diagnostic pop
#undef FT
#endif

}  // namespace

bool int8_gemm_supports(DType w, Isa isa) {
#if defined(__x86_64__)
  return isa == Isa::Avx512Vnni && packable(w);
#else
  (void)w, (void)isa;
  return false;
#endif
}

void int8_gemm(DType type, const uint8_t* w, int64_t rows, int64_t cols, const Q8Block* a, int64_t n, bool residual,
               float* out, int64_t ldo, bool accumulate) {
  require(int8_gemm_supports(type, active_isa()) && cols % block_shape(type).elems == 0 && ldo >= rows,
          "int8 gemm: unsupported weight or shape");
#if defined(__x86_64__)
  const int64_t nb = cols / 32, panels = (rows + kPanel - 1) / kPanel, hs = halves(type);
  const auto bytes_size = static_cast<std::size_t>(panels * nb * kBlockBytes);
  const auto floats = static_cast<std::size_t>(panels * nb * hs * kPanel);
  const PanelRows body = panel_rows_for(static_cast<int>(hs), residual);
  // 64-byte aligned: every panel block is one aligned zmm load per 4-byte group.
  std::unique_ptr<uint8_t, FreeDeleter> bytes(static_cast<uint8_t*>(std::aligned_alloc(64, bytes_size)));
  std::unique_ptr<float, FreeDeleter> scales(
      static_cast<float*>(std::aligned_alloc(64, (2 * floats * sizeof(float) + 63) / 64 * 64)));
  require(bytes != nullptr && scales != nullptr, "int8 gemm: out of memory for {} weight rows", rows);
  float* scale = scales.get();
  float* offset = scale + floats;
  const int64_t chunks = (n + kChunkRows - 1) / kChunkRows, groups = (panels + kPanelsPerTask - 1) / kPanelsPerTask;
#pragma omp parallel
  {
#pragma omp for schedule(dynamic, 1)
    for (int64_t p = 0; p < panels; ++p)
      pack_panel(type, w, rows, cols, p, bytes.get() + p * nb * kBlockBytes, scale + p * nb * hs * kPanel,
                 offset + p * nb * hs * kPanel);
    // Activation chunk outer: consecutive tasks of a thread reuse the chunk's Q8 blocks from L2.
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < chunks * groups; ++task) {
      const int64_t r0 = (task / groups) * kChunkRows, m = std::min(kChunkRows, n - r0);
      const int64_t p_end = std::min(panels, (task % groups + 1) * kPanelsPerTask);
      for (int64_t p = (task % groups) * kPanelsPerTask; p < p_end; ++p) {
        const int64_t live = std::min<int64_t>(kPanel, rows - p * kPanel);
        const auto keep = static_cast<__mmask16>((1u << live) - 1u);
        const uint8_t* pb = bytes.get() + p * nb * kBlockBytes;
        const float* ps = scale + p * nb * hs * kPanel;
        const float* po = offset + p * nb * hs * kPanel;
        body(pb, ps, po, nb, a + r0 * nb, m, out + r0 * ldo + p * kPanel, ldo, keep, accumulate);
      }
    }
  }
#else
  (void)w, (void)rows, (void)cols, (void)a, (void)n, (void)residual, (void)out, (void)ldo, (void)accumulate;
#endif
}

}  // namespace flux::engine::cpu
