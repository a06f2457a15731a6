// CudaBackend's attention ops: Full/Streaming/Triangle block lists are built on the host exactly as CpuBackend does and
// uploaded as CSR once per (plan, length) (kept for the next layer and run: a layer's attention then queues one
// launch and no copy); XAttention lists are scored and selected on the GPU (host scoring on downloaded q/k only for head
// dims the GPU scorer lacks); the prefill kernel executes them.
#include <algorithm>
#include <array>
#include <cmath>

#include "engine/attention/attention_cpu.h"
#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"
#include "kernels/launch.h"

namespace flux::kernels {
namespace {

using engine::AttentionMode;
using engine::require;

MaskParams mask_params(const AttentionPlan& plan, int64_t n_tokens) {
  MaskParams m;
  m.mode = static_cast<int>(plan.mode);
  m.block = plan.block;
  m.sink = plan.sink;
  m.window = plan.window;
  m.n_last = plan.n_last;
  m.token_exact = plan.token_exact ? 1 : 0;
  m.n_tokens = n_tokens;
  return m;
}

void check_heads(int n_heads, int n_kv_heads, int head_dim) {
  require(n_heads >= 1 && n_kv_heads >= 1 && n_heads % n_kv_heads == 0,
          "cuda backend: {} query heads is not a multiple of {} kv heads", n_heads, n_kv_heads);
  require(head_dim == 16 || head_dim == 32 || head_dim == 64 || head_dim == 128,
          "cuda backend: head_dim {} has no attention kernel (16, 32, 64 or 128)", head_dim);
}

}  // namespace

AttentionStats CudaBackend::attention_prefill(const Tensor& q, const Tensor& k, const Tensor& v, int64_t q_pos0,
                                              int64_t n_kv, int n_heads, int n_kv_heads, int head_dim,
                                              const AttentionPlan& plan, Tensor& out, bool record_mask) {
  if (armed_gate_.decision == nullptr)
    return attention_prefill_plan(q, k, v, q_pos0, n_kv, n_heads, n_kv_heads, head_dim, plan, out, record_mask,
                                  nullptr, 0);
  // Routed on the device (gate_attention): both plans queued, the decision picks one; the stats are the dense
  // plan's (the Session knows the decision only after the prefill).
  const ArmedGate gate = armed_gate_;
  armed_gate_ = ArmedGate{};
  require(gate.dense.mode != AttentionMode::XAttention && gate.sparse.mode != AttentionMode::XAttention,
          "cuda backend: device routing between XAttention plans");
  AttentionStats stats = attention_prefill_plan(q, k, v, q_pos0, n_kv, n_heads, n_kv_heads, head_dim, gate.dense,
                                                out, false, gate.decision, 0);
  attention_prefill_plan(q, k, v, q_pos0, n_kv, n_heads, n_kv_heads, head_dim, gate.sparse, out, false,
                         gate.decision, 1);
  return stats;
}

AttentionStats CudaBackend::attention_prefill_plan(const Tensor& q, const Tensor& k, const Tensor& v, int64_t q_pos0,
                                                   int64_t n_kv, int n_heads, int n_kv_heads, int head_dim,
                                                   const AttentionPlan& plan, Tensor& out, bool record_mask,
                                                   const int32_t* gate, int32_t gate_run) {
  engine::validate(plan);
  check_heads(n_heads, n_kv_heads, head_dim);
  require(q.cols == int64_t{n_heads} * head_dim && k.cols == int64_t{n_kv_heads} * head_dim && v.cols == k.cols &&
              k.rows >= n_kv && v.rows >= n_kv && q_pos0 >= 0 && q_pos0 + q.rows <= n_kv,
          "cuda backend: attention_prefill shape mismatch");
  require(out.rows == q.rows && out.cols == q.cols,
          "cuda backend: attention output has shape [{}, {}], expected [{}, {}]", out.rows, out.cols, q.rows, q.cols);
  require(plan.mode != AttentionMode::XAttention || (q_pos0 == 0 && q.rows == n_kv),
          "cuda backend: XAttention prefill must cover the whole prompt in one call");

  // Device CSR lists: XAttention scored and selected on the GPU where the kernels cover the shape, otherwise built on
  // the host (as CpuBackend does) and uploaded.
  std::shared_ptr<void> dev_lists;
  const int32_t* dev_offsets = nullptr;
  const int32_t* dev_blocks = nullptr;
  int list_heads = 1, n_q_blocks = 0;
  AttentionStats stats;
  const int n_blocks = static_cast<int>((n_kv + plan.block - 1) / plan.block);
  if (plan.mode == AttentionMode::XAttention && (head_dim == 64 || head_dim == 128) && n_blocks <= 6144) {
    XAttnArgs xa;
    xa.q = static_cast<const bf16*>(q.data);
    xa.k = static_cast<const bf16*>(k.data);
    xa.n = n_kv;
    xa.n_heads = n_heads;
    xa.n_kv_heads = n_kv_heads;
    xa.head_dim = head_dim;
    xa.stride = plan.stride;
    xa.block = plan.block;
    xa.scale = 1.0f / (std::sqrt(static_cast<float>(head_dim)) * static_cast<float>(plan.stride));
    constexpr int64_t kLogitsBudget = int64_t{64} << 20;  // floats (256 MB) of coarse logits per scoring chunk
    const int64_t chunk = xattn_chunk_rows(xa, kLogitsBudget);
    const int64_t coarse = (n_kv + plan.stride - 1) / plan.stride;
    const int64_t rows = int64_t{n_heads} * n_blocks;
    const int64_t dense = xattn_dense_list_size(n_heads, n_blocks, n_blocks);
    const std::size_t logits_floats = static_cast<std::size_t>(n_heads * chunk * coarse);
    const std::size_t score_floats = static_cast<std::size_t>(rows) * n_blocks;
    const std::size_t ints = static_cast<std::size_t>(2 * dense + 2 * rows + 1);
    dev_lists = allocate((logits_floats + score_floats) * sizeof(float) + ints * sizeof(int32_t));
    auto* logits = static_cast<float*>(dev_lists.get());
    float* scores = logits + logits_floats;
    auto* offsets = reinterpret_cast<int32_t*>(scores + score_floats);
    int32_t* counts = offsets + rows + 1;
    int32_t* scratch = counts + rows;
    int32_t* blocks = scratch + dense;
    require(launch_xattn_scores(xa, logits, chunk, scores, ctx_->stream) &&
                launch_xattn_select(scores, n_heads, n_blocks, n_blocks, plan.threshold, scratch, counts, offsets,
                                    blocks, ctx_->stream),
            "cuda backend: no XAttention kernel for head_dim {}, block {}, stride {}", head_dim, plan.block,
            plan.stride);
    FLUX_CUDA_CHECK_LAUNCH("xattention scoring/selection");
    int32_t selected = 0;  // the one host round trip: the list size, for the density the run report shows
    FLUX_CUDA_CHECK(cudaMemcpyAsync(&selected, offsets + rows, sizeof(int32_t), cudaMemcpyDeviceToHost, ctx_->stream));
    FLUX_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
    stats.density = dense == 0 ? 1.0 : static_cast<double>(selected) / static_cast<double>(dense);
    if (record_mask) {
      // Read when the caller asks, after the layer: the device lists stay alive until then (this closure holds them).
      stats.mask = [this, dev_lists, offsets, blocks, rows, selected, n_blocks, n_heads, block = plan.block] {
        engine::BlockLists lists;
        lists.block = block;
        lists.n_q_blocks = lists.n_kv_blocks = n_blocks;
        lists.n_heads = n_heads;
        lists.offsets.resize(static_cast<std::size_t>(rows) + 1);
        lists.kv_blocks.resize(static_cast<std::size_t>(selected));
        FLUX_CUDA_CHECK(cudaMemcpyAsync(lists.offsets.data(), offsets, lists.offsets.size() * sizeof(int32_t),
                                        cudaMemcpyDeviceToHost, ctx_->stream));
        if (selected > 0) {
          FLUX_CUDA_CHECK(cudaMemcpyAsync(lists.kv_blocks.data(), blocks, lists.kv_blocks.size() * sizeof(int32_t),
                                          cudaMemcpyDeviceToHost, ctx_->stream));
        }
        FLUX_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
        return engine::aggregate_heads(lists, n_heads);
      };
    }
    dev_offsets = offsets;
    dev_blocks = blocks;
    list_heads = n_heads;
    n_q_blocks = n_blocks;
  } else if (plan.mode == AttentionMode::XAttention) {
    engine::BlockLists lists;
    const std::vector<float> hq = download_rows(q);
    const std::vector<float> hk = download_rows(row_view(k, 0, n_kv));
    lists = engine::plan_block_lists(plan, hq.data(), hk.data(), n_kv, n_heads, n_kv_heads, head_dim);
    lists.block = plan.block;
    stats.density = lists.density();
    if (record_mask) {
      stats.mask = [shared = std::make_shared<const engine::BlockLists>(lists), n_heads] {
        return engine::aggregate_heads(*shared, n_heads);
      };
    }
    if (q.rows == 0) return stats;
    dev_lists = upload_lists(lists);
    dev_offsets = static_cast<const int32_t*>(dev_lists.get());
    dev_blocks = dev_offsets + lists.offsets.size();
    list_heads = lists.n_heads;
    n_q_blocks = lists.n_q_blocks;
  } else {
    const StaticLists& lists = static_lists(plan, n_kv);
    stats.density = lists.density;
    dev_offsets = lists.offsets;
    dev_blocks = lists.blocks;
    list_heads = 1;
    n_q_blocks = lists.n_q_blocks;
  }
  if (q.rows == 0) return stats;

  PrefillArgs a;
  a.q = static_cast<const bf16*>(q.data);
  a.k = static_cast<const bf16*>(k.data);
  a.v = static_cast<const bf16*>(v.data);
  a.out = static_cast<bf16*>(out.data);
  a.offsets = dev_offsets;
  a.kv_blocks = dev_blocks;
  a.n_q = q.rows;
  a.q_pos0 = q_pos0;
  a.n_kv = n_kv;
  a.n_heads = n_heads;
  a.n_kv_heads = n_kv_heads;
  a.head_dim = head_dim;
  a.list_heads = list_heads;
  a.n_q_blocks = n_q_blocks;
  a.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  a.mask = mask_params(plan, n_kv);
  a.gate = gate;
  a.gate_run = gate_run;
  launch_attention_prefill(a, ctx_->stream);
  FLUX_CUDA_CHECK_LAUNCH("attention_prefill");
  // Host vectors were copied from pageable memory (staged before return); the device lists are freed on the stream
  // after the kernel.
  return stats;
}

std::shared_ptr<void> CudaBackend::upload_lists(const engine::BlockLists& lists) {
  const std::size_t offset_bytes = lists.offsets.size() * sizeof(int32_t);
  const std::size_t block_bytes = std::max<std::size_t>(lists.kv_blocks.size(), 1) * sizeof(int32_t);
  std::shared_ptr<void> dev = allocate(offset_bytes + block_bytes);
  auto* offsets = static_cast<int32_t*>(dev.get());
  // From pageable memory: staged before the call returns, so the host vectors may go at once.
  FLUX_CUDA_CHECK(cudaMemcpyAsync(offsets, lists.offsets.data(), offset_bytes, cudaMemcpyHostToDevice, ctx_->stream));
  if (!lists.kv_blocks.empty()) {
    FLUX_CUDA_CHECK(cudaMemcpyAsync(offsets + lists.offsets.size(), lists.kv_blocks.data(),
                                    lists.kv_blocks.size() * sizeof(int32_t), cudaMemcpyHostToDevice, ctx_->stream));
  }
  return dev;
}

const CudaBackend::StaticLists& CudaBackend::static_lists(const AttentionPlan& plan, int64_t n_kv) {
  // Everything build_block_lists reads for a static mode.
  const std::array<int64_t, 7> key = {static_cast<int64_t>(plan.mode), plan.block, plan.sink, plan.window,
                                      plan.n_last, plan.token_exact ? 1 : 0, n_kv};
  if (const auto it = static_lists_.find(key); it != static_lists_.end()) return it->second;
  // Bounded (a chunked prefill sees a new n_kv per chunk); dropped lists are freed on the stream after their kernels.
  constexpr std::size_t kMaxStaticLists = 16;
  if (static_lists_.size() >= kMaxStaticLists) static_lists_.clear();
  engine::BlockLists lists = engine::build_block_lists(plan, n_kv);
  StaticLists s;
  s.memory = upload_lists(lists);
  s.offsets = static_cast<const int32_t*>(s.memory.get());
  s.blocks = s.offsets + lists.offsets.size();
  s.n_q_blocks = lists.n_q_blocks;
  s.density = lists.density();
  return static_lists_.emplace(key, std::move(s)).first->second;
}

void CudaBackend::attention_decode(const Tensor& q, const Tensor& k, const Tensor& v, int64_t n_slots, int n_heads,
                                   int n_kv_heads, int head_dim, Tensor& out) {
  run_decode_attention(q, k, v, n_slots, nullptr, engine::KvLayout{}, n_heads, n_kv_heads, head_dim, out);
}

void CudaBackend::attention_decode_step(const Tensor& q, const Tensor& k, const Tensor& v,
                                        const engine::DecodeStep& step, const engine::KvLayout& layout, int n_heads,
                                        int n_kv_heads, int head_dim, Tensor& out) {
  // The grid covers the most rows any step reads; the kernels attend the layout.reads_at(pos) rows.
  const int64_t most = layout.max_reads() > 0 ? std::min(k.rows, layout.max_reads()) : k.rows;
  run_decode_attention(q, k, v, most, &device_step(step)->pos, layout, n_heads, n_kv_heads, head_dim, out);
}

void CudaBackend::run_decode_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t n_slots,
                                       const int64_t* pos, const engine::KvLayout& layout, int n_heads,
                                       int n_kv_heads, int head_dim, Tensor& out) {
  check_heads(n_heads, n_kv_heads, head_dim);
  require(q.rows == 1 && k.rows >= n_slots && v.rows >= n_slots && q.cols == int64_t{n_heads} * head_dim &&
              k.cols == int64_t{n_kv_heads} * head_dim && v.cols == k.cols,
          "cuda backend: attention_decode shape mismatch");
  require(out.numel() == q.numel(), "cuda backend: attention_decode output of {} values, expected {}", out.numel(),
          q.numel());
  require(n_slots >= 1, "attention decode: no KV entries to attend to");
  std::shared_ptr<void> scratch =
      allocate(static_cast<std::size_t>(decode_scratch_floats(n_slots, n_heads, head_dim)) * sizeof(float));
  DecodeArgs a;
  a.q = static_cast<const bf16*>(q.data);
  a.k = static_cast<const bf16*>(k.data);
  a.v = static_cast<const bf16*>(v.data);
  a.out = static_cast<bf16*>(out.data);
  a.n_slots = n_slots;
  a.pos = pos;
  a.layout = layout;
  a.n_heads = n_heads;
  a.n_kv_heads = n_kv_heads;
  a.head_dim = head_dim;
  a.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  // Fused: the split-KV combine inside the attention launch (one launch per layer instead of two).
  if (split_counters_ && n_heads <= kMaxSplitCounters) a.split_counters = static_cast<unsigned*>(split_counters_.get());
  require(launch_attention_decode(a, static_cast<float*>(scratch.get()), ctx_->stream),
          "cuda backend: no decode attention kernel for head_dim {} (16, 32, 64, 128) or unaligned K/V", head_dim);
  FLUX_CUDA_CHECK_LAUNCH("attention_decode");
}

}  // namespace flux::kernels
