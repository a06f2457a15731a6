// CudaBackend's routing with no host round trip (engine/backend/backend.h, Session::run_prefill): a layer's router
// pooling, MLP and decision run on the device into a slot of a table; the attention kernels of both plans are queued
// and read the decision there (PrefillArgs::gate); the table comes back once, after the prefill. What it saves per
// routed layer: the stream drain of the logits' read-back, and the host's wait before it can queue the attention.
// The router itself is one launch (launch_router_fused: pooling, MLP and decision into the slot) on a scratch kept
// between layers and runs; FLUX_ROUTER_FUSED=0 composes the separate kernels instead (the reference).
#include "kernels/cuda_backend.h"
#include "kernels/cuda_check.h"
#include "kernels/launch.h"

namespace flux::kernels {
namespace {

using engine::require;

constexpr int kSlotFloats = engine::Backend::kMaxRouteOutputs;

// Table layout: [slots][kSlotFloats] MLP outputs, then [slots] int32 decisions (-1 until the slot ran).
float* slot_outputs(const engine::Backend::RouteTable& t, int slot) {
  return static_cast<float*>(t.storage.get()) + static_cast<std::size_t>(slot) * kSlotFloats;
}
int32_t* slot_decision(const engine::Backend::RouteTable& t, int slot) {
  return reinterpret_cast<int32_t*>(static_cast<float*>(t.storage.get()) +
                                    static_cast<std::size_t>(t.n_slots) * kSlotFloats) +
         slot;
}
std::size_t table_bytes(int slots) {
  return static_cast<std::size_t>(slots) * (kSlotFloats * sizeof(float) + sizeof(int32_t));
}

}  // namespace

engine::Backend::RouteTable CudaBackend::make_route_table(int slots) {
  require(slots > 0, "cuda backend: a route table of {} slots", slots);
  RouteTable t;
  t.storage = allocate(table_bytes(slots));
  t.n_slots = slots;
  t.outputs.assign(static_cast<std::size_t>(slots), 0);
  // Decisions -1 (neither plan runs) and outputs NaN until a slot runs: a gate armed on an unrouted slot shows.
  FLUX_CUDA_CHECK(cudaMemsetAsync(t.storage.get(), 0xFF, table_bytes(slots), ctx_->stream));
  return t;
}

engine::TimeSpan CudaBackend::route_on_device(const Tensor& x, std::span<const engine::RowRange> ranges,
                                              const engine::SmallMlp& mlp, RouteRule rule, float temperature,
                                              float threshold, RouteTable& table, int slot) {
  require(slot >= 0 && slot < table.n_slots, "cuda backend: route slot {} of {}", slot, table.n_slots);
  require(mlp.in() > 0 && x.cols % mlp.in() == 0, "pooled_mlp: {} columns are not rows of {}", x.cols, mlp.in());
  require(ranges.size() <= static_cast<std::size_t>(kMaxRowRanges), "cuda backend: {} pooling ranges (at most {})",
          ranges.size(), kMaxRowRanges);
  const int n = static_cast<int>(x.cols / mlp.in()) * mlp.out();
  require(n >= 1 && n <= kSlotFloats, "cuda backend: {} router outputs per layer (at most {})", n, kSlotFloats);
  require(rule != RouteRule::FluxSoftmax || n == 2, "cuda backend: a softmax router head with {} outputs", n);
  std::shared_ptr<void> scratch;  // the composed ops' (FLUX_ROUTER_FUSED=0): freed on the stream after the decision
  engine::TimeSpan span;
  span.start = mark();
  if (!run_router_fused(x, ranges, mlp, slot_outputs(table, slot), slot_decision(table, slot), rule, temperature,
                        threshold)) {
    const float* out = run_pooled_mlp(x, ranges, mlp, scratch);
    launch_router_decision(out, n, static_cast<int>(rule), temperature, threshold, slot_outputs(table, slot),
                           slot_decision(table, slot), ctx_->stream);
    FLUX_CUDA_CHECK_LAUNCH("router decision");
  }
  span.end = mark();
  table.outputs[static_cast<std::size_t>(slot)] = n;
  return span;
}

void CudaBackend::gate_attention(const RouteTable& table, int slot, const AttentionPlan& dense,
                                 const AttentionPlan& sparse) {
  require(slot >= 0 && slot < table.n_slots, "cuda backend: route slot {} of {}", slot, table.n_slots);
  armed_gate_.decision = slot_decision(table, slot);
  armed_gate_.dense = dense;
  armed_gate_.sparse = sparse;
}

std::vector<engine::Backend::RoutedSlot> CudaBackend::read_route_table(const RouteTable& table) {
  require(static_cast<int>(table.outputs.size()) == table.n_slots, "cuda backend: a route table not made here");
  std::vector<float> host(table_bytes(table.n_slots) / sizeof(float));
  FLUX_CUDA_CHECK(cudaMemcpyAsync(host.data(), table.storage.get(), table_bytes(table.n_slots), cudaMemcpyDeviceToHost,
                                  ctx_->stream));
  FLUX_CUDA_CHECK(cudaStreamSynchronize(ctx_->stream));
  const auto* decisions =
      reinterpret_cast<const int32_t*>(host.data() + static_cast<std::size_t>(table.n_slots) * kSlotFloats);
  std::vector<RoutedSlot> slots(static_cast<std::size_t>(table.n_slots));
  for (int s = 0; s < table.n_slots; ++s) {
    const int n = table.outputs[static_cast<std::size_t>(s)];
    if (n == 0 || decisions[s] < 0) continue;
    RoutedSlot& r = slots[static_cast<std::size_t>(s)];
    r.sa = decisions[s] == 1;
    const float* out = host.data() + static_cast<std::size_t>(s) * kSlotFloats;
    r.out.assign(out, out + n);
  }
  return slots;
}

}  // namespace flux::kernels
