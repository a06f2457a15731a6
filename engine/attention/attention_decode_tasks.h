// What a decode-attention task works on, shared by attention_decode_cpu.cpp (the split into tasks, the per-head bodies,
// the merge) and the fp16 bodies that walk whole cache rows, one file per instruction set
// (attention_decode_f16_avx2.cpp, attention_decode_f16_avx512.cpp).
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/attention/attention_cpu.h"

namespace flux::engine::decode_cpu {

// K/V rows this far ahead are prefetched by the fp16 bodies: the hardware prefetcher alone left the step waiting on
// DRAM (bench/RESULTS.md, session 12: 16, 32 and 64 rows ahead measured alike, none 1.3x slower).
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

// Per-thread buffers, kept between steps: s holds scores (per-head bodies) or a block's probabilities and rescales
// (fp16 bodies: at least group * 17 floats), tile widened rows.
struct Scratch {
  std::vector<float> s, tile;
  std::vector<Partial> parts;
};

// The runs of consecutive cache rows whose concatenated index lies in [i0, i1), at most max_rows rows each, in
// order (a loop, not a callback: a lambda would not carry the bodies' target attributes).
struct RowTiles {
  std::span<const KvRange> ranges;
  int64_t i1, max_rows;
  std::size_t r = 0;
  int64_t idx = 0;  // concatenated index of ranges[r].begin
  int64_t i;        // next index to hand out
  int64_t row0 = 0, rows = 0, idx0 = 0;

  RowTiles(std::span<const KvRange> rs, int64_t begin, int64_t end, int64_t tile)
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

// A body that does every KV head of its rows: (args, n_kv_heads, i0, i1, parts [n_kv_heads], scratch). It reads
// whole cache rows in order: a row holds every KV head (384 B on the demo model), and a per-head task reading 128 B
// of every 384 B streamed DRAM at ~9 GB/s on the dev VM against ~22 GB/s contiguous.
using RowsFn = void (*)(const DecodeArgs&, int64_t, int64_t, int64_t, Partial*, Scratch&);

// The fp16-cache bodies for head dim d (64 or 128; null otherwise): blocks of 16 rows on AVX-512, 8 on AVX2/FMA/F16C.
RowsFn rows_f16_avx512(int64_t d);
RowsFn rows_f16_avx2(int64_t d);

}  // namespace flux::engine::decode_cpu
