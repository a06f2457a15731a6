#include "engine/runtime/kv_cache.h"

#include <gtest/gtest.h>

#include <vector>

#include "engine/attention/attention_plan.h"

namespace flux::engine {
namespace {

// Each stored row holds its position in every column, so the slots tell which positions the cache kept.
Tensor rows_of_positions(Backend& b, int64_t pos0, int64_t n, int cols) {
  std::vector<float> host(static_cast<std::size_t>(n * cols));
  for (int64_t r = 0; r < n; ++r)
    for (int c = 0; c < cols; ++c) host[static_cast<std::size_t>(r * cols + c)] = static_cast<float>(pos0 + r);
  return b.upload(host, n, cols);
}

std::vector<int64_t> stored_positions(Backend& b, const KvCache& kv, int layer, int cols) {
  const Tensor& k = kv.keys(layer);
  std::vector<float> host(static_cast<std::size_t>(k.numel()));
  b.download(k, host);
  std::vector<int64_t> out;
  for (int64_t s = 0; s < kv.slots_in_use(layer); ++s) out.push_back(static_cast<int64_t>(host[s * cols]));
  std::sort(out.begin(), out.end());
  return out;
}

TEST(KvCache, StreamingLayerKeepsExactlyTheDecodeRanges) {
  auto backend = make_cpu_backend(1);
  const int cols = 4, sink = 3, window = 5;
  const int64_t prompt = 20, capacity = 40;
  KvCache kv(*backend, 2, cols, capacity);
  for (int layer = 0; layer < 2; ++layer) {
    const Tensor t = rows_of_positions(*backend, 0, prompt, cols);
    kv.store(layer, 0, t, t);
  }
  kv.make_streaming(1, sink, window);
  EXPECT_LT(kv.bytes(1), kv.bytes(0));
  EXPECT_EQ(kv.bytes(1), static_cast<std::size_t>((sink + window) * cols * 2) * sizeof(float));

  AttentionPlan plan;
  plan.mode = AttentionMode::Streaming;
  plan.sink = sink;
  plan.window = window;
  for (int64_t pos = prompt; pos < capacity; ++pos) {
    for (int layer = 0; layer < 2; ++layer) kv.store(layer, pos, rows_of_positions(*backend, pos, 1, cols),
                                                     rows_of_positions(*backend, pos, 1, cols));
    std::vector<int64_t> expected;
    for (const KvRange& r : decode_ranges(plan, pos))
      for (int64_t p = r.begin; p < r.end; ++p) expected.push_back(p);
    EXPECT_EQ(stored_positions(*backend, kv, 1, cols), expected) << "decode position " << pos;
    EXPECT_EQ(kv.slots_in_use(0), pos + 1);
  }
}

TEST(KvCache, ShortContextStaysDense) {
  auto backend = make_cpu_backend(1);
  KvCache kv(*backend, 1, 2, 6);
  const Tensor t = rows_of_positions(*backend, 0, 4, 2);
  kv.store(0, 0, t, t);
  kv.make_streaming(0, 2, 8);  // sink + window >= capacity: nothing to drop
  EXPECT_EQ(kv.slots_in_use(0), 4);
  EXPECT_EQ(stored_positions(*backend, kv, 0, 2), (std::vector<int64_t>{0, 1, 2, 3}));
}

}  // namespace
}  // namespace flux::engine
