// How the tensor-core prefill kernels walk a query block's CSR list of KV blocks: as runs of consecutive blocks, cut
// into tiles of at most kTile keys below a limit (the CTA's last query, causal, and n_kv).
#pragma once

#include <cstdint>

namespace flux::kernels {

template <int kTile>
struct TileCursor {
  const int32_t* list;
  int li, li_end;
  int64_t block, j_limit;
  int64_t j = 0, run_end = 0;

  __device__ bool next_run() {
    if (li >= li_end) return false;
    const int first = list[li];
    if (int64_t{first} * block >= j_limit) return false;  // ascending: every later block is past the limit too
    int last = first;
    ++li;
    while (li < li_end && list[li] == last + 1) {
      ++last;
      ++li;
    }
    j = int64_t{first} * block;
    run_end = min((int64_t{last} + 1) * block, j_limit);
    return true;
  }
  // The next tile: keys [j0, j0 + cols); false when the list is done.
  __device__ bool take(int64_t& j0, int& cols) {
    if (j >= run_end && !next_run()) return false;
    j0 = j;
    cols = static_cast<int>(min(int64_t{kTile}, run_end - j));
    j += cols;
    return true;
  }
};

}  // namespace flux::kernels
