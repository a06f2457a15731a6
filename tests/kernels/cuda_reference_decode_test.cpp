// DecodeMode::Reference on CUDA: a block-streaming layout's decode step reads the sink and local rows of the full
// cache from the position on the device (KvLayout::reads_at), and a model decoding in that mode from one CUDA-graph
// recording gives the CPU's logits (the bf16-storage simulation of it) for every SA kind.
#include <algorithm>
#include <iostream>

#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/runtime/session.h"
#include "tests/kernels/bf16_sim_backend.h"
#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {
namespace {

constexpr int kKvHeads = 2, kGroup = 4;

TEST(CudaReferenceDecode, BlockStreamingStepsReadTheSameRowsAsTheCpu) {
  FLUX_REQUIRE_GPU();
  BackendPair p;
  const int64_t capacity = 700;
  for (const int dim : {32, 64}) {  // the CUDA-core and the tensor-core stage 1
    const int64_t cols = int64_t{kKvHeads} * dim;
    const int n_heads = kKvHeads * kGroup;
    const auto keys = random_bf16(static_cast<std::size_t>(capacity * cols), 3, 2.0f);
    const auto values = random_bf16(static_cast<std::size_t>(capacity * cols), 4);
    const Tensor ck = p.cpu->upload(keys, capacity, cols), cv = p.cpu->upload(values, capacity, cols);
    const Tensor gk = p.gpu->upload(keys, capacity, cols), gv = p.gpu->upload(values, capacity, cols);
    for (const KvLayout layout : {KvLayout::block_streaming(16, 32, 16), KvLayout::block_streaming(128, 256, 128),
                                  KvLayout::block_streaming(0, 384, 128), KvLayout::block_streaming(0, 16, 16)}) {
      for (const int64_t pos : {int64_t{0}, int64_t{15}, int64_t{16}, int64_t{17}, int64_t{255}, int64_t{256},
                                int64_t{257}, int64_t{300}, int64_t{640}, int64_t{699}}) {
        const auto q = random_bf16(static_cast<std::size_t>(n_heads * dim), static_cast<uint32_t>(pos + 9), 2.0f);
        DecodeStep cs = p.cpu->make_decode_step(), gs = p.gpu->make_decode_step();
        p.cpu->set_decode_step(cs, 0, pos);
        p.gpu->set_decode_step(gs, 0, pos);
        Tensor co = p.cpu->empty(1, int64_t{n_heads} * dim), go = poisoned(*p.gpu, 1, int64_t{n_heads} * dim);
        p.cpu->attention_decode_step(p.cpu->upload(q, 1, n_heads * dim), ck, cv, cs, layout, n_heads, kKvHeads, dim,
                                     co);
        p.gpu->attention_decode_step(p.gpu->upload(q, 1, n_heads * dim), gk, gv, gs, layout, n_heads, kKvHeads, dim,
                                     go);
        const std::vector<float> want = fetch(*p.cpu, co), got = fetch(*p.gpu, go);
        if (layout.reads_at(pos).rows == 0) {
          // Nothing to read (one local block, no sink, inside a block): zeros, as the reference kernel writes.
          EXPECT_TRUE(std::all_of(got.begin(), got.end(), [](float x) { return x == 0.0f; })) << "pos " << pos;
        } else {
          EXPECT_LT(rel_err(got, want), 1e-2) << "dim " << dim << " pos " << pos << " block " << layout.block
                                              << " sink " << layout.sink << " window " << layout.window;
        }
      }
    }
  }
}

RoutingPlan all_sa(const AttentionPlan& sparse, int n_layers) {
  RoutingPlan plan;
  plan.sparse = sparse;
  plan.layers.resize(static_cast<std::size_t>(n_layers));
  for (LayerRoute& r : plan.layers) r.mode = LayerMode::SA;
  return plan;
}

// Logits of `steps` decode steps after `prompt`, the steps' tokens fixed so both backends see the same inputs.
std::vector<float> decode_logits(Decoder& decoder, const std::vector<int32_t>& prompt, int steps,
                                 const RoutingPlan& plan, bool* recorded) {
  Session s(decoder, static_cast<int64_t>(prompt.size()) + steps);
  s.prefill(prompt, plan);
  std::vector<float> all;
  for (int i = 0; i < steps; ++i) {
    const std::vector<float> logits = s.decode(static_cast<int32_t>((i * 53 + 11) % decoder.config().vocab_size));
    all.insert(all.end(), logits.begin(), logits.end());
  }
  *recorded = s.decode_recorded();
  return all;
}

TEST(CudaReferenceDecode, RecordedModelDecodeEqualsTheCpu) {
  FLUX_REQUIRE_GPU();
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/tiny_qwen3/tiny_qwen3.gguf");
  Bf16SimBackend sim;
  auto gpu = make_cuda_backend();
  Decoder on_sim(files.config(), load_decoder_weights(files, sim), sim);
  Decoder on_gpu(files.config(), load_decoder_weights(files, *gpu), *gpu);
  std::vector<int32_t> prompt(90);
  for (std::size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 37 + 3) % 256);
  const int steps = 120;  // positions 90..209 cross 8 blocks of 16
  for (AttentionMode mode : {AttentionMode::Streaming, AttentionMode::Triangle, AttentionMode::XAttention}) {
    AttentionPlan sparse;
    sparse.mode = mode;
    sparse.block = 16, sparse.sink = 16, sparse.window = 32, sparse.n_last = 8, sparse.stride = 4;
    sparse.decode = DecodeMode::Reference;
    const RoutingPlan plan = all_sa(sparse, files.config().n_layers);
    bool sim_recorded = true, gpu_recorded = false;
    const std::vector<float> want = decode_logits(on_sim, prompt, steps, plan, &sim_recorded);
    const std::vector<float> got = decode_logits(on_gpu, prompt, steps, plan, &gpu_recorded);
    EXPECT_FALSE(sim_recorded);
    EXPECT_TRUE(gpu_recorded);
    // XAttention's prefill picks blocks from bf16 q/k (near-tied blocks can flip): looser, as in cuda_model_test.
    const double err = rel_err(got, want);
    EXPECT_LT(err, mode == AttentionMode::XAttention ? 6e-2 : 2e-2) << attention_mode_name(mode);
    std::cout << "[metric] reference decode " << attention_mode_name(mode) << ", " << steps
              << " recorded steps vs bf16-sim: rel_err=" << err << "\n";
  }
}

}  // namespace
}  // namespace flux::engine::testing_gpu
