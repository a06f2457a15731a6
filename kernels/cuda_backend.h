// The CUDA backend: bf16 storage for weights, activations and KV, fp32 accumulation in every kernel, cuBLASLt GEMMs,
// one stream per backend (every op async on it; download and elapsed_ms wait). Semantics mirror CpuBackend exactly.
#pragma once

#include <array>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/backend/backend.h"
#include "kernels/cublaslt_gemm.h"

namespace flux::kernels {

using engine::AttentionPlan;
using engine::AttentionStats;
using engine::Tensor;
using engine::TimeMark;
enum class GemvEpilogue;  // kernels/launch.h

// Owns the stream; device buffers keep it alive through their deleters, so a tensor may outlive the backend.
struct CudaContext {
  cudaStream_t stream = nullptr;
  int device = 0;
  ~CudaContext();
};

class CudaBackend final : public engine::Backend {
 public:
  CudaBackend();
  ~CudaBackend() override;

  std::string name() const override { return "cuda"; }
  std::string device_name() const override { return device_name_; }

  Tensor upload(std::span<const float> host, int64_t rows, int64_t cols) override;
  Tensor empty(int64_t rows, int64_t cols) override;
  void download(const Tensor& t, std::span<float> host) override;
  Tensor row_view(const Tensor& t, int64_t row0, int64_t n) override;
  void write_rows(Tensor& dst, int64_t dst_row0, const Tensor& src) override;
  void copy_rows(const Tensor& src, int64_t src_row0, Tensor& dst, int64_t dst_row0, int64_t n) override;
  std::size_t bytes_per_element() const override { return 2; }
  Tensor random(int64_t rows, int64_t cols, float scale, uint64_t seed) override;
  // GGML block weights stay as stored on the device (kernels/cuda_quant_weights.cpp): decode GEMVs dequantize in
  // registers, prefill GEMMs and embeddings dequantize into a bf16 scratch right before use. Other types: bf16.
  Tensor upload_weight(engine::StorageType type, std::span<const std::byte> bytes, int64_t rows, int64_t cols,
                       std::shared_ptr<const void> mapping = {}) override;
  std::string weight_execution(const Tensor& w) const override;

  void embed(const Tensor& table, std::span<const int32_t> ids, Tensor& out) override;
  void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
  void head_rms_norm(Tensor& x, const Tensor& weight, int head_dim, float eps) override;
  void matmul(const Tensor& x, const Tensor& w, Tensor& out) override;
  void add_bias(Tensor& x, const Tensor& bias) override;
  void add(Tensor& x, const Tensor& y) override;
  void swiglu(const Tensor& gate, const Tensor& up, Tensor& out) override;
  void matmul_add(const Tensor& x, const Tensor& w, Tensor& out) override;
  void matmul_swiglu(const Tensor& x, const Tensor& gate, const Tensor& up, Tensor& out) override;
  void matmul_qkv(const Tensor& x, const Tensor& wq, const Tensor& wk, const Tensor& wv, Tensor& q, Tensor& k,
                  Tensor& v) override;
  void norm_matmul(const Tensor& x, const Tensor& norm, float eps, const Tensor& w, Tensor& out) override;
  void norm_matmul_swiglu(const Tensor& x, const Tensor& norm, float eps, const Tensor& gate, const Tensor& up,
                          Tensor& out) override;
  void norm_matmul_qkv(const Tensor& x, const Tensor& norm, float eps, const Tensor& wq, const Tensor& wk,
                       const Tensor& wv, Tensor& q, Tensor& k, Tensor& v) override;
  void rope(Tensor& x, int64_t pos0, const engine::RopeTable& rope) override;

  AttentionStats attention_prefill(const Tensor& q, const Tensor& k, const Tensor& v, int64_t q_pos0, int64_t n_kv,
                                   int n_heads, int n_kv_heads, int head_dim, const AttentionPlan& plan,
                                   Tensor& out, bool record_mask) override;
  void attention_decode(const Tensor& q, const Tensor& k, const Tensor& v, int64_t n_slots, int n_heads, int n_kv_heads,
                        int head_dim, Tensor& out) override;

  std::vector<float> mean_of_rows(const Tensor& x, std::span<const engine::RowRange> ranges) override;
  PooledMlp pooled_mlp(const Tensor& x, std::span<const engine::RowRange> ranges, const engine::SmallMlp& mlp) override;
  // Routing with no host round trip (kernels/cuda_routing.cpp).
  bool device_routing() const override { return device_routing_; }
  RouteTable make_route_table(int slots) override;
  engine::TimeSpan route_on_device(const Tensor& x, std::span<const engine::RowRange> ranges,
                                   const engine::SmallMlp& mlp, RouteRule rule, float temperature, float threshold,
                                   RouteTable& table, int slot) override;
  void gate_attention(const RouteTable& table, int slot, const AttentionPlan& dense,
                      const AttentionPlan& sparse) override;
  std::vector<RoutedSlot> read_route_table(const RouteTable& table) override;
  engine::DecodeStep make_decode_step() override;
  void set_decode_step(engine::DecodeStep& step, int32_t token, int64_t pos) override;
  void embed_step(const Tensor& table, const engine::DecodeStep& step, Tensor& out) override;
  void rope_step(Tensor& x, const engine::DecodeStep& step, const engine::RopeTable& rope) override;
  void store_kv_step(const Tensor& k, const Tensor& v, const engine::DecodeStep& step,
                     const engine::KvLayout& layout, Tensor& cache_k, Tensor& cache_v) override;
  void attention_inputs_step(Tensor& q, Tensor& k, const Tensor& v, const QkNorm& norm, const engine::DecodeStep& step,
                             const engine::RopeTable& rope, const engine::KvLayout& layout, Tensor& cache_k,
                             Tensor& cache_v) override;
  void attention_decode_step(const Tensor& q, const Tensor& k, const Tensor& v, const engine::DecodeStep& step,
                             const engine::KvLayout& layout, int n_heads, int n_kv_heads, int head_dim,
                             Tensor& out) override;
  // CUDA graphs; FLUX_CUDA_GRAPHS=0 in the environment turns recording off (A/B runs).
  std::shared_ptr<void> record(const std::function<void()>& body) override;
  void replay(const std::shared_ptr<void>& recording) override;

  int32_t sample_token(const Tensor& logits, const engine::SampleParams& params) override;
  // High-water mark of the stream-ordered pool every tensor comes from (weights, KV, activations); the cuBLASLt
  // workspace (cudaMalloc, fixed size) is not in it.
  std::size_t peak_memory_bytes() override;
  void reset_peak_memory() override;
  engine::DeviceMemory device_memory() override;

  TimeMark mark() override;
  double elapsed_ms(const TimeMark& from, const TimeMark& to) override;
  void synchronize() override;

 private:
  // Stream-ordered device allocation (freed on the stream when the last handle goes).
  std::shared_ptr<void> allocate(std::size_t bytes);
  // Returns the memory the stream pool caches and the graph pool holds to the device (after an out-of-memory).
  void release_cached_memory();
  std::vector<float> download_rows(const Tensor& t);
  // The device copy of mlp's weights, uploaded on first use (kept in mlp.device).
  struct DeviceMlp;
  const DeviceMlp& device_mlp(const engine::SmallMlp& mlp);
  engine::DecodeStepData* device_step(const engine::DecodeStep& step);
  // Decode attention over n_slots rows, or over layout.slots_after(*pos) of them when pos (device) is set.
  void run_decode_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t n_slots, const int64_t* pos,
                            const engine::KvLayout& layout, int n_heads, int n_kv_heads, int head_dim, Tensor& out);
  // The table's frequencies on the device, uploaded once per distinct table (a recorded step keeps the pointer).
  const double* inv_freq(const engine::RopeTable& rope);
  // One fused GEMV launch when decode-sized and aligned (kernels/gemv.cu); false: the caller composes the ops.
  // With `norm`, the GEMV reads RMSNorm(x) by norm->weight (normalised inside the launch).
  struct GemvNorm {
    const Tensor* weight = nullptr;
    float eps = 0.0f;
  };
  bool fused_gemv(const Tensor& x, const Tensor* const* w, Tensor* const* y, int count, GemvEpilogue epilogue,
                  const GemvNorm* norm = nullptr);
  // The same on block weights (every w quantized, x one row); false: the caller composes the ops.
  bool quant_gemv(const Tensor& x, const Tensor* const* w, Tensor* const* y, int count, GemvEpilogue epilogue,
                  const GemvNorm* norm = nullptr);
  // A layer-norm GEMV in one launch when fused decode kernels are on and the shapes allow; false: compose.
  bool norm_gemv(const Tensor& x, const Tensor& norm, float eps, const Tensor* const* w, Tensor* const* y, int count,
                 GemvEpilogue epilogue);
  // w itself when it is bf16, else a bf16 copy of it in a fresh (stream-ordered) scratch buffer.
  Tensor dequantized(const Tensor& w);
  // out [n, cols] = rows ids[0..n) (device) of a block-weight table.
  void embed_rows(const Tensor& table, const int32_t* ids, int64_t n, Tensor& out);

  // One attention_prefill of one plan; with gate, its kernels run only when *gate == gate_run.
  AttentionStats attention_prefill_plan(const Tensor& q, const Tensor& k, const Tensor& v, int64_t q_pos0,
                                        int64_t n_kv, int n_heads, int n_kv_heads, int head_dim,
                                        const AttentionPlan& plan, Tensor& out, bool record_mask,
                                        const int32_t* gate, int32_t gate_run);
  // Block lists on the device: a fresh upload, and the static modes' lists kept per (plan, n_kv) (cuda_attention.cpp).
  std::shared_ptr<void> upload_lists(const engine::BlockLists& lists);
  struct StaticLists {
    std::shared_ptr<void> memory;
    const int32_t* offsets = nullptr;
    const int32_t* blocks = nullptr;
    int n_q_blocks = 0;
    double density = 1.0;
  };
  const StaticLists& static_lists(const AttentionPlan& plan, int64_t n_kv);
  std::map<std::array<int64_t, 7>, StaticLists> static_lists_;
  // Pooling + MLP of the router on the device into a fresh scratch; returns the outputs' device pointer (rows
  // x.cols / mlp.in(), mlp.out() each) and the scratch that holds them.
  const float* run_pooled_mlp(const Tensor& x, std::span<const engine::RowRange> ranges, const engine::SmallMlp& mlp,
                              std::shared_ptr<void>& scratch);
  // The router in one launch (launch_router_fused) into out (pooled_mlp: null, the outputs stay behind the scratch)
  // and, when set, decision; false when it is off (FLUX_ROUTER_FUSED=0) or the shape does not fit.
  bool run_router_fused(const Tensor& x, std::span<const engine::RowRange> ranges, const engine::SmallMlp& mlp,
                        float* out, int32_t* decision, RouteRule rule, float temperature, float threshold);
  // The fused router's scratch, kept between layers and runs (stream order makes the reuse safe).
  float* router_scratch(std::size_t floats);
  // gate_attention's armed choice, taken by the next attention_prefill.
  struct ArmedGate {
    const int32_t* decision = nullptr;
    AttentionPlan dense, sparse;
  };
  ArmedGate armed_gate_;

  std::shared_ptr<CudaContext> ctx_;
  struct EventPool;
  std::shared_ptr<EventPool> events_;  // mark()'s events, recycled
  std::string device_name_;
  std::unique_ptr<LtGemm> gemm_;
  bool device_routing_ = true;  // FLUX_DEVICE_ROUTING=0: the router's decisions come back per layer (A/B runs)
  bool fused_router_ = true;   // the router in one launch; FLUX_ROUTER_FUSED=0 composes its kernels (the reference)
  std::shared_ptr<void> router_scratch_;
  std::size_t router_scratch_floats_ = 0;
  bool use_gemv_ = true;  // decode-sized matmuls through kernels/gemv.cu; FLUX_GEMV=0 keeps cuBLASLt (A/B runs)
  // The fused decode kernels (norm in the GEMV prologue, QK-norm + RoPE + KV store in one launch); FLUX_CUDA_FUSED=0
  // runs the unfused ops instead (the reference, and A/B runs).
  bool fused_decode_ = true;
  // The decode attention's per-grid-row counters (fused decode: the split combine in the attention launch).
  static constexpr int kMaxSplitCounters = 1024;
  std::shared_ptr<void> split_counters_;
  std::map<std::vector<double>, std::shared_ptr<void>> inv_freq_;
  // Device sampling: scratch kept between tokens, a pinned word for the id read back.
  std::shared_ptr<void> sample_scratch_;
  int64_t sample_scratch_bytes_ = 0;
  std::shared_ptr<int32_t> pinned_id_;
};

}  // namespace flux::kernels
