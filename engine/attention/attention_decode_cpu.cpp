// Decode attention on the CPU: one query token against the cache rows of its ranges, fp32 or fp16 cache. GQA-aware:
// each task owns one KV head and a chunk of rows, so a row is read (and, for fp16, widened) once for all the query
// heads of its group; chunks of one head merge by their softmax maxima afterwards (flash-decoding's split). The
// loops are compiled per instruction set (quant_dot.h's run-time level).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/attention/attention_cpu.h"
#include "engine/attention/softmax_math.h"
#include "engine/backend/cpu/half_rows.h"
#include "engine/backend/cpu/quant_dot.h"
#include "engine/core/error.h"

#if defined(__x86_64__)
// GCC 12's AVX-512 intrinsics start from _mm512_undefined_*(), which -Wmaybe-uninitialized flags once inlined.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace flux::engine {
namespace {

// Below this many multiply-adds per step and layer (K and V counted once) the step runs on the calling thread: waking
// the workers costs microseconds. With 9 heads x 64 dims that is up to ~900 cached rows.
constexpr int64_t kParallelDecodeMacs = int64_t{1} << 19;
// Rows widened from fp16 at a time: 32 x 128 dims x 4 B = 16 KB, in L1 while the group's heads read them.
constexpr int64_t kTileRows = 32;
// A chunk holds at most this many rows (its scores stay in L2) and, when split for threads, at least kMinChunk.
constexpr int64_t kMaxChunk = 4096;
constexpr int64_t kMinChunk = 128;
// Rows per step of the AVX-512 fp16 body's online softmax: one 16-lane score vector per query head.
constexpr int64_t kBlockRows = 16;
#ifndef FLUX_DECODE_PREFETCH_ROWS
#define FLUX_DECODE_PREFETCH_ROWS 32
#endif
constexpr int64_t kPrefetchRows = FLUX_DECODE_PREFETCH_ROWS;

struct DecodeArgs {
  const float* q;
  KvRows kv;
  std::span<const KvRange> ranges;
  int64_t d, ldk, group;
  float scale;
};

// One task's softmax state per query head of its group: running max m, sum l, unnormalised output o [d].
struct Partial {
  float* m;
  float* l;
  float* o;  // [group, d]
};

struct Scratch {
  std::vector<float> s, tile;
  std::vector<Partial> parts;
};

// The runs of consecutive cache rows whose concatenated index lies in [i0, i1), at most kTileRows rows each, in
// order (a loop, not a callback: a lambda would not carry the bodies' target attributes).
struct RowTiles {
  std::span<const KvRange> ranges;
  int64_t i1, max_rows;
  std::size_t r = 0;
  int64_t idx = 0;  // concatenated index of ranges[r].begin
  int64_t i;        // next index to hand out
  int64_t row0 = 0, rows = 0, idx0 = 0;

  RowTiles(std::span<const KvRange> rs, int64_t begin, int64_t end, int64_t tile = kTileRows)
      : ranges(rs), i1(end), max_rows(tile), i(begin) {}
  bool next() {
    for (; r < ranges.size(); idx += ranges[r].end - ranges[r].begin, ++r) {
      const int64_t n = ranges[r].end - ranges[r].begin;
      if (i < idx) i = idx;
      const int64_t b = std::min(i1, idx + n);
      if (i < b) {
        idx0 = i;
        row0 = ranges[r].begin + (i - idx);
        rows = std::min(max_rows, b - i);
        i += rows;
        return true;
      }
    }
    return false;
  }
};

// Rows [row0, row0 + n) of KV head g as fp32: the cache itself (stride ldk) or widened into the tile (stride d).
[[gnu::always_inline]] inline const float* rows_f32(const DecodeArgs& a, const void* base, int64_t row0, int64_t n,
                                                    int64_t g, float* tile, int64_t& stride) {
  const int64_t offset = row0 * a.ldk + g * a.d;  // a.d: kD where the body knows it
  if (!a.kv.f16) {
    stride = a.ldk;
    return static_cast<const float*>(base) + offset;
  }
  cpu::f16_to_f32_rows(static_cast<const uint16_t*>(base) + offset, a.ldk, tile, a.d, n, a.d);
  stride = a.d;
  return tile;
}

// KV head g over concatenated rows [i0, i1): scores, softmax relative to the chunk's max, then the weighted values.
// kD: the head dim when known at compile time (64, 128: the loops unroll into registers), 0 = a.d.
template <int kD>
[[gnu::always_inline]] inline void partial_body(const DecodeArgs& a, int64_t g, int64_t i0, int64_t i1, Partial p,
                                                Scratch& w) {
  const int64_t d = kD > 0 ? kD : a.d, G = a.group, n = i1 - i0;

  float* s = w.s.data();  // [G, n]
  const float* qg = a.q + g * G * d;
  for (RowTiles t(a.ranges, i0, i1); t.next();) {
    const int64_t rows = t.rows, idx0 = t.idx0;
    int64_t stride = 0;
    const float* k = rows_f32(a, a.kv.k, t.row0, rows, g, w.tile.data(), stride);
    for (int64_t h = 0; h < G; ++h) {
      const float* qh = qg + h * d;
      for (int64_t j = 0; j < rows; ++j) {
        const float* kj = k + j * stride;
        float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
        for (int64_t e = 0; e < d; ++e) dot += qh[e] * kj[e];
        s[h * n + (idx0 - i0) + j] = dot * a.scale;
      }
    }
  }
  for (int64_t h = 0; h < G; ++h) {
    float* sh = s + h * n;
    float mx = kNegInf;
#pragma omp simd reduction(max : mx)
    for (int64_t j = 0; j < n; ++j) mx = max_blend(mx, sh[j]);
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; ++j) {
      sh[j] = exp_nonpositive(sh[j] - mx);
      sum += sh[j];
    }
    p.m[h] = mx;
    p.l[h] = sum;
    std::fill(p.o + h * d, p.o + (h + 1) * d, 0.0f);
  }
  for (RowTiles t(a.ranges, i0, i1); t.next();) {
    const int64_t rows = t.rows, idx0 = t.idx0;
    int64_t stride = 0;
    const float* v = rows_f32(a, a.kv.v, t.row0, rows, g, w.tile.data(), stride);
    for (int64_t h = 0; h < G; ++h) {
      const float* ph = s + h * n + (idx0 - i0);
      float* oh = p.o + h * d;
      for (int64_t j = 0; j < rows; ++j) {
        const float pj = ph[j];
        const float* vj = v + j * stride;
#pragma omp simd
        for (int64_t e = 0; e < d; ++e) oh[e] += pj * vj[e];
      }
    }
  }
}

using PartialFn = void (*)(const DecodeArgs&, int64_t, int64_t, int64_t, Partial, Scratch&);
// A body that does every KV head of its rows: (args, n_kv_heads, i0, i1, parts [n_kv_heads], scratch).
using RowsFn = void (*)(const DecodeArgs&, int64_t, int64_t, int64_t, Partial*, Scratch&);

template <int kD>
void partial_scalar(const DecodeArgs& a, int64_t g, int64_t i0, int64_t i1, Partial p, Scratch& w) {
  partial_body<kD>(a, g, i0, i1, p, w);
}
#if defined(__x86_64__)
template <int kD>
__attribute__((target("avx2,fma,f16c"))) void partial_avx2(const DecodeArgs& a, int64_t g, int64_t i0, int64_t i1,
                                                           Partial p, Scratch& w) {
  partial_body<kD>(a, g, i0, i1, p, w);
}
template <int kD>
__attribute__((target("avx512f,avx512vl,avx512bw,avx2,fma,f16c"))) void partial_avx512(const DecodeArgs& a, int64_t g,
                                                                                       int64_t i0, int64_t i1,
                                                                                       Partial p, Scratch& w) {
  partial_body<kD>(a, g, i0, i1, p, w);
}

// The fp16 cache on AVX-512, head dim kD (64 or 128): one pass over blocks of kBlockRows rows with an online softmax
// per query head (no score buffer), each K/V row widened once (16-lane vcvtph2ps) for all the group's heads, the 16
// dots of a block summed horizontally together (a transpose-and-add tree: 45 instructions instead of 16 reductions),
// a 16-lane exp, and the values accumulated two heads at a time (8 independent FMA chains for kD = 64).

// out lane j = the sum of v[j]'s 16 lanes.
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline __m512 sum_lanes16(const __m512* v) {
  __m512 a[8], b[4], c[2];
  for (int i = 0; i < 8; ++i)  // per 128-bit lane: [v2i, v2i+1, v2i, v2i+1] partial sums
    a[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  for (int i = 0; i < 4; ++i) {  // per 128-bit lane: rows 4i..4i+3, that lane's part
    const __m512d x = _mm512_castps_pd(a[2 * i]), y = _mm512_castps_pd(a[2 * i + 1]);
    b[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
  }
  for (int i = 0; i < 2; ++i)  // the four 128-bit lanes added in pairs
    c[i] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0x88),
                         _mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], 0x88), _mm512_shuffle_f32x4(c[0], c[1], 0xDD));
}

// exp_nonpositive (softmax_math.h) on 16 lanes: the same range reduction and polynomial; x <= -87 (and -inf) gives 0.
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline __m512 exp_nonpositive16(__m512 x) {
  const __mmask16 in_range = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_GT_OQ);
  const __m512 xc = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r =
      _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc));
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 y = _mm512_add_ps(_mm512_fmadd_ps(_mm512_mul_ps(p, r), r, r), _mm512_set1_ps(1.0f));
  return _mm512_maskz_mov_ps(in_range, _mm512_scalef_ps(y, n));
}

// Rows [row0, row0 + n) of KV head g, n <= 16, widened into tile [16, kD] (rows past n keep stale finite values).
template <int kD>
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline void widen_block(const uint16_t* base, int64_t ldk,
                                                                                  int64_t row0, int64_t n, int64_t g,
                                                                                  float* tile) {
  const uint16_t* src = base + row0 * ldk + g * kD;
  for (int64_t j = 0; j < n; ++j) {
    // The same head's part of the row kPrefetchRows ahead: the hardware prefetcher alone left the step waiting on
    // DRAM (a prefetch past the cache's end does not fault).
    const char* ahead = reinterpret_cast<const char*>(src + (j + kPrefetchRows) * ldk);
    for (int line = 0; line < kD * 2; line += 64) _mm_prefetch(ahead + line, _MM_HINT_T0);
    for (int c = 0; c < kD / 16; ++c)
      _mm512_store_ps(tile + j * kD + 16 * c,
                      _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + j * ldk + 16 * c))));
  }
}

// o[h] = o[h] * alpha[h] + Σ_j p[h][j] · vt[j] for kH consecutive heads (kH · kD / 16 accumulators in registers).
template <int kD, int kH>
[[gnu::always_inline]] __attribute__((target("avx512f"))) inline void accumulate_values(float* o, const float* p,
                                                                                        const float* alpha,
                                                                                        const float* vt, int64_t n) {
  constexpr int kV = kD / 16;
  __m512 acc[kH][kV];
  for (int h = 0; h < kH; ++h)
    for (int c = 0; c < kV; ++c)
      acc[h][c] = _mm512_mul_ps(_mm512_loadu_ps(o + h * kD + 16 * c), _mm512_set1_ps(alpha[h]));
  for (int64_t j = 0; j < n; ++j)
    for (int h = 0; h < kH; ++h) {
      const __m512 pj = _mm512_set1_ps(p[h * kBlockRows + j]);
      for (int c = 0; c < kV; ++c) acc[h][c] = _mm512_fmadd_ps(pj, _mm512_load_ps(vt + j * kD + 16 * c), acc[h][c]);
    }
  for (int h = 0; h < kH; ++h)
    for (int c = 0; c < kV; ++c) _mm512_storeu_ps(o + h * kD + 16 * c, acc[h][c]);
}

// All KV heads over concatenated rows [i0, i1), parts[g] for head g: a task reads whole cache rows in order (one head's
// 128 bytes of every 384-byte row, head after head, streamed DRAM at ~9 GB/s here against ~22 contiguous).
template <int kD>
__attribute__((target("avx512f,avx512vl,avx512bw,avx2,fma,f16c"))) void rows_f16_avx512(const DecodeArgs& a,
                                                                                        int64_t n_kv_heads, int64_t i0,
                                                                                        int64_t i1, Partial* parts,
                                                                                        Scratch& w) {
  constexpr int kV = kD / 16;
  const int64_t G = a.group;
  float* pb = w.s.data();              // [G, 16] this block's probabilities
  float* alpha = pb + G * kBlockRows;  // [G] rescale of the running output
  alignas(64) float kt[kBlockRows * kD], vt[kBlockRows * kD];
  std::fill(kt, kt + kBlockRows * kD, 0.0f);
  for (int64_t g = 0; g < n_kv_heads; ++g) {
    std::fill(parts[g].m, parts[g].m + G, kNegInf);
    std::fill(parts[g].l, parts[g].l + G, 0.0f);
    std::fill(parts[g].o, parts[g].o + G * kD, 0.0f);
  }
  const __m512 scale = _mm512_set1_ps(a.scale);
  for (RowTiles t(a.ranges, i0, i1, kBlockRows); t.next();) {
    const int64_t n = t.rows;
    const __mmask16 valid = static_cast<__mmask16>((1u << n) - 1u);
    for (int64_t g = 0; g < n_kv_heads; ++g) {
      const Partial p = parts[g];
      const float* qg = a.q + g * G * kD;
      widen_block<kD>(static_cast<const uint16_t*>(a.kv.k), a.ldk, t.row0, n, g, kt);
      for (int64_t h = 0; h < G; ++h) {
        __m512 q[kV], dots[kBlockRows];
        for (int c = 0; c < kV; ++c) q[c] = _mm512_loadu_ps(qg + h * kD + 16 * c);
        for (int j = 0; j < kBlockRows; ++j) {
          __m512 d = _mm512_mul_ps(q[0], _mm512_load_ps(kt + j * kD));
          for (int c = 1; c < kV; ++c) d = _mm512_fmadd_ps(q[c], _mm512_load_ps(kt + j * kD + 16 * c), d);
          dots[j] = d;
        }
        const __m512 s = _mm512_mask_mov_ps(_mm512_set1_ps(kNegInf), valid, _mm512_mul_ps(sum_lanes16(dots), scale));
        const float mx = std::max(p.m[h], _mm512_reduce_max_ps(s));
        const __m512 e = exp_nonpositive16(_mm512_sub_ps(s, _mm512_set1_ps(mx)));
        alpha[h] = exp_nonpositive(p.m[h] - mx);
        p.l[h] = p.l[h] * alpha[h] + _mm512_reduce_add_ps(e);
        p.m[h] = mx;
        _mm512_storeu_ps(pb + h * kBlockRows, e);
      }
      widen_block<kD>(static_cast<const uint16_t*>(a.kv.v), a.ldk, t.row0, n, g, vt);
      int64_t h = 0;
      for (; h + 2 <= G; h += 2) accumulate_values<kD, 2>(p.o + h * kD, pb + h * kBlockRows, alpha + h, vt, n);
      if (h < G) accumulate_values<kD, 1>(p.o + h * kD, pb + h * kBlockRows, alpha + h, vt, n);
    }
  }
}
#endif

template <int kD>
PartialFn partial_for(cpu::Isa isa) {
#if defined(__x86_64__)
  if (isa >= cpu::Isa::Avx512Vnni) return partial_avx512<kD>;
  if (isa >= cpu::Isa::Avx2) return partial_avx2<kD>;
#endif
  (void)isa;
  return partial_scalar<kD>;
}

PartialFn partial_for(cpu::Isa isa, int64_t d) {
  if (d == 64) return partial_for<64>(isa);
  if (d == 128) return partial_for<128>(isa);
  return partial_for<0>(isa);
}

// The every-KV-head body where there is one (an fp16 cache on AVX-512, head dim 64 or 128), else null.
RowsFn rows_for(cpu::Isa isa, int64_t d, bool f16) {
#if defined(__x86_64__)
  if (f16 && isa >= cpu::Isa::Avx512Vnni && d == 64) return rows_f16_avx512<64>;
  if (f16 && isa >= cpu::Isa::Avx512Vnni && d == 128) return rows_f16_avx512<128>;
#endif
  (void)isa, (void)d, (void)f16;
  return nullptr;
}

}  // namespace

void attention_decode_cpu(const float* q, const KvRows& kv, std::span<const KvRange> ranges, int n_heads,
                          int n_kv_heads, int head_dim, float* out) {
  require(n_heads >= 1 && n_kv_heads >= 1 && n_heads % n_kv_heads == 0,
          "attention decode: {} query heads is not a multiple of {} kv heads", n_heads, n_kv_heads);
  require(head_dim >= 1, "attention decode: head_dim must be >= 1, got {}", head_dim);
  int64_t total = 0;
  for (std::size_t i = 0; i < ranges.size(); ++i) {
    require(
        ranges[i].begin >= 0 && ranges[i].begin <= ranges[i].end && (i == 0 || ranges[i - 1].end <= ranges[i].begin),
        "attention decode: KV ranges must be ascending and disjoint");
    total += ranges[i].end - ranges[i].begin;
  }
  require(total >= 1, "attention decode: no KV entries to attend to");
  DecodeArgs a{q,
               kv,
               ranges,
               head_dim,
               int64_t{n_kv_heads} * head_dim,
               n_heads / n_kv_heads,
               1.0f / std::sqrt(static_cast<float>(head_dim))};
  const int64_t d = a.d, G = a.group;

  // Tasks: KV head x chunk of rows, or a chunk of rows for every KV head where the body reads whole rows. Parallel:
  // about 4 tasks per thread, so a thread slowed by another program leaves chunks to the others (dynamic schedule).
  const cpu::Isa isa = cpu::active_isa();
  const RowsFn rows_body = rows_for(isa, d, kv.f16);
  const PartialFn body = partial_for(isa, d);
  const int64_t heads_per_task = rows_body ? n_kv_heads : 1;
  const int threads = omp_get_max_threads();
  const bool parallel = threads > 1 && total * n_heads * d >= kParallelDecodeMacs;
  int64_t chunks = (total + kMaxChunk - 1) / kMaxChunk;
  if (parallel) chunks = std::max<int64_t>(chunks, (4 * threads * heads_per_task + n_kv_heads - 1) / n_kv_heads);
  chunks = std::clamp<int64_t>(chunks, 1, std::max<int64_t>(1, total / kMinChunk));
  const int64_t chunk = (total + chunks - 1) / chunks;
  chunks = (total + chunk - 1) / chunk;
  const int64_t tasks = n_kv_heads / heads_per_task * chunks;
  const int64_t per_task = G * (d + 2);
  thread_local std::vector<float> partials;  // [n_kv_heads * chunks] partials, head-major; kept between steps
  partials.resize(std::max(partials.size(), static_cast<std::size_t>(n_kv_heads * chunks * per_task)));
  float* const partial_base = partials.data();
  auto partial_of = [=](int64_t index) {
    float* base = partial_base + index * per_task;
    return Partial{base, base + G, base + 2 * G};
  };

#pragma omp parallel if (parallel)
  {
    thread_local Scratch w;  // kept between steps: a decode step allocates nothing here once warm
    w.s.resize(std::max(w.s.size(), static_cast<std::size_t>(G * std::max(chunk, kBlockRows + 1))));
    w.tile.resize(std::max(w.tile.size(), static_cast<std::size_t>(kv.f16 ? kTileRows * d : 0)));
    w.parts.resize(static_cast<std::size_t>(n_kv_heads));
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < tasks; ++task) {
      const int64_t c = task % chunks, i0 = c * chunk, i1 = std::min(total, (c + 1) * chunk);
      if (rows_body) {
        for (int64_t g = 0; g < n_kv_heads; ++g) w.parts[static_cast<std::size_t>(g)] = partial_of(g * chunks + c);
        rows_body(a, n_kv_heads, i0, i1, w.parts.data(), w);
      } else {
        body(a, task / chunks, i0, i1, partial_of(task), w);
      }
    }
  }

  // Merge each head's chunks: rescale by e^(m_c - max m) and normalise by the rescaled sum.
  for (int64_t g = 0; g < n_kv_heads; ++g) {
    for (int64_t h = 0; h < G; ++h) {
      float mx = kNegInf;
      for (int64_t c = 0; c < chunks; ++c) mx = std::max(mx, partial_of(g * chunks + c).m[h]);
      float sum = 0.0f;
      float* oh = out + (g * G + h) * d;
      std::fill(oh, oh + d, 0.0f);
      for (int64_t c = 0; c < chunks; ++c) {
        const Partial p = partial_of(g * chunks + c);
        const float f = std::exp(p.m[h] - mx);
        sum += p.l[h] * f;
        for (int64_t e = 0; e < d; ++e) oh[e] += f * p.o[h * d + e];
      }
      const float inv = 1.0f / sum;
      for (int64_t e = 0; e < d; ++e) oh[e] *= inv;
    }
  }
}

void attention_decode_cpu(const float* q, const float* k, const float* v, std::span<const KvRange> ranges, int n_heads,
                          int n_kv_heads, int head_dim, float* out) {
  attention_decode_cpu(q, KvRows{k, v, false}, ranges, n_heads, n_kv_heads, head_dim, out);
}

void attention_decode_cpu(const float* q, const float* k, const float* v, int64_t n_slots, int n_heads, int n_kv_heads,
                          int head_dim, float* out) {
  const KvRange all{0, n_slots};
  attention_decode_cpu(q, k, v, std::span<const KvRange>(&all, 1), n_heads, n_kv_heads, head_dim, out);
}

}  // namespace flux::engine
