// Decode steps that read their position on the device (engine/backend/decode_step.h): the KV row store and decode
// attention against the host-position reference for dense and ring (streaming) layouts, and a model's decode steps
// replayed from one CUDA-graph recording against the same steps issued one kernel at a time.
#include <cstdlib>
#include <numeric>

#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/routing/route_spec.h"
#include "engine/runtime/session.h"
#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {
namespace {

constexpr int kKvHeads = 2, kGroup = 4, kDim = 64;
constexpr int64_t kKvCols = int64_t{kKvHeads} * kDim;

struct Cache {
  Tensor k, v;
};

Cache make_cache(Backend& b, int64_t rows, uint32_t seed) {
  return Cache{b.upload(random_bf16(static_cast<std::size_t>(rows * kKvCols), seed, 2.0f), rows, kKvCols),
               b.upload(random_bf16(static_cast<std::size_t>(rows * kKvCols), seed + 1), rows, kKvCols)};
}

TEST(CudaDecodeStep, StoreAndAttendMatchTheHostPositionPath) {
  FLUX_REQUIRE_GPU();
  BackendPair p;
  const int64_t capacity = 300;
  for (const KvLayout layout : {KvLayout{}, KvLayout{4, 16}, KvLayout{0, 256}}) {
    const int64_t rows = layout.window > 0 ? layout.sink + layout.window : capacity;
    for (const int64_t pos : {int64_t{0}, int64_t{5}, int64_t{19}, int64_t{20}, int64_t{37}, int64_t{299}}) {
      const uint32_t seed = static_cast<uint32_t>(pos * 7 + layout.window);
      Cache cc = make_cache(*p.cpu, rows, seed), gc = make_cache(*p.gpu, rows, seed);
      const auto row = random_bf16(static_cast<std::size_t>(kKvCols), seed + 5, 2.0f);
      const auto q = random_bf16(static_cast<std::size_t>(kKvHeads * kGroup * kDim), seed + 6, 2.0f);
      DecodeStep cs = p.cpu->make_decode_step(), gs = p.gpu->make_decode_step();
      p.cpu->set_decode_step(cs, 0, pos);
      p.gpu->set_decode_step(gs, 0, pos);
      p.cpu->store_kv_step(p.cpu->upload(row, 1, kKvCols), p.cpu->upload(row, 1, kKvCols), cs, layout, cc.k, cc.v);
      p.gpu->store_kv_step(p.gpu->upload(row, 1, kKvCols), p.gpu->upload(row, 1, kKvCols), gs, layout, gc.k, gc.v);
      // bf16 values move unchanged: the device cache equals the host one exactly, the new row included.
      const std::vector<float> gk = fetch(*p.gpu, gc.k);
      ASSERT_EQ(gk, fetch(*p.cpu, cc.k)) << "pos " << pos << " window " << layout.window;
      const int64_t slot = layout.slot_of(pos);
      EXPECT_TRUE(std::equal(row.begin(), row.end(), gk.begin() + slot * kKvCols)) << "slot " << slot;

      const int n_heads = kKvHeads * kGroup;
      Tensor co = p.cpu->empty(1, int64_t{n_heads} * kDim), go = poisoned(*p.gpu, 1, int64_t{n_heads} * kDim);
      p.cpu->attention_decode_step(p.cpu->upload(q, 1, n_heads * kDim), cc.k, cc.v, cs, layout, n_heads, kKvHeads,
                                   kDim, co);
      p.gpu->attention_decode_step(p.gpu->upload(q, 1, n_heads * kDim), gc.k, gc.v, gs, layout, n_heads, kKvHeads,
                                   kDim, go);
      EXPECT_LT(rel_err(fetch(*p.gpu, go), fetch(*p.cpu, co)), 1e-2) << "pos " << pos << " window " << layout.window;
    }
  }
}

// Greedy decode of a tiny Qwen3 under a streaming plan whose ring wraps several times, recorded (one graph launch
// per token) and not (FLUX_CUDA_GRAPHS=0): the same kernels on the same data, so the logits agree to rounding noise.
TEST(CudaDecodeStep, RecordedStepsEqualStepsIssuedOneByOne) {
  FLUX_REQUIRE_GPU();
  auto gpu = make_cuda_backend();
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/tiny_qwen3/tiny_qwen3.gguf");
  Decoder decoder(files.config(), load_decoder_weights(files, *gpu), *gpu);
  std::vector<int32_t> prompt(90);
  for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 37 + 3) % 256);
  AttentionPlan sparse;
  sparse.mode = AttentionMode::Streaming;
  sparse.block = 16, sparse.sink = 16, sparse.window = 32;
  const RoutingPlan plan = make_preset_plan("every-other", decoder.config().n_layers, sparse);
  const int steps = 80;
  auto decode = [&](bool recorded, bool* was_recorded) {
    if (recorded) {
      unsetenv("FLUX_CUDA_GRAPHS");
    } else {
      setenv("FLUX_CUDA_GRAPHS", "0", 1);
    }
    Session s(decoder, static_cast<int64_t>(prompt.size()) + steps);
    std::vector<float> logits = s.prefill(prompt, plan);
    std::vector<float> all;
    for (int i = 0; i < steps; ++i) {
      const auto next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      logits = s.decode(next);
      all.insert(all.end(), logits.begin(), logits.end());
    }
    *was_recorded = s.decode_recorded();
    unsetenv("FLUX_CUDA_GRAPHS");
    return all;
  };
  bool a_recorded = false, b_recorded = true;
  const std::vector<float> a = decode(true, &a_recorded);
  const std::vector<float> b = decode(false, &b_recorded);
  EXPECT_TRUE(a_recorded);
  EXPECT_FALSE(b_recorded);
  const double err = rel_err(a, b);
  EXPECT_LT(err, 1e-5);
  std::cout << "[metric] recorded vs direct decode, " << steps << " steps: rel_err=" << err << "\n";
}

}  // namespace
}  // namespace flux::engine::testing_gpu
