// Decode attention on the CPU: one query token against the cache rows of its ranges, fp32 or fp16 cache. GQA-aware:
// each task owns one KV head and a chunk of rows, so a row is read (and, for fp16, widened) once for all the query
// heads of its group; chunks of one head merge by their softmax maxima afterwards (flash-decoding's split). The
// loops are compiled per instruction set (quant_dot.h's run-time level). With an fp16 cache and head dim 64 or 128 on
// AVX2 or AVX-512 a task is instead a chunk of whole cache rows for every KV head (attention_decode_f16_*.cpp).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "engine/attention/attention_cpu.h"
#include "engine/attention/attention_decode_tasks.h"
#include "engine/attention/softmax_math.h"
#include "engine/backend/cpu/half_rows.h"
#include "engine/backend/cpu/quant_dot.h"
#include "engine/core/error.h"

namespace flux::engine {
namespace {

using decode_cpu::DecodeArgs;
using decode_cpu::Partial;
using decode_cpu::RowsFn;
using decode_cpu::RowTiles;
using decode_cpu::Scratch;

// Below this many multiply-adds per step and layer (K and V counted once) the step runs on the calling thread: waking
// the workers costs microseconds. With 9 heads x 64 dims that is up to ~900 cached rows.
constexpr int64_t kParallelDecodeMacs = int64_t{1} << 19;
// Rows widened from fp16 at a time: 32 x 128 dims x 4 B = 16 KB, in L1 while the group's heads read them.
constexpr int64_t kTileRows = 32;
// A chunk holds at most this many rows (its scores stay in L2) and, when split for threads, at least kMinChunk.
constexpr int64_t kMaxChunk = 4096;
constexpr int64_t kMinChunk = 128;
// The fp16 bodies' largest block (AVX-512: 16 rows): their probabilities and rescales live in Scratch::s.
constexpr int64_t kMaxBlockRows = 16;

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
  for (RowTiles t(a.ranges, i0, i1, kTileRows); t.next();) {
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
  for (RowTiles t(a.ranges, i0, i1, kTileRows); t.next();) {
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

// The every-KV-head body where there is one (an fp16 cache on AVX2 or AVX-512, head dim 64 or 128), else null.
RowsFn rows_for(cpu::Isa isa, int64_t d, bool f16) {
  if (!f16) return nullptr;
  if (isa >= cpu::Isa::Avx512Vnni) return decode_cpu::rows_f16_avx512(d);
  if (isa >= cpu::Isa::Avx2) return decode_cpu::rows_f16_avx2(d);
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
    w.s.resize(std::max(w.s.size(), static_cast<std::size_t>(G * std::max(chunk, kMaxBlockRows + 1))));
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
