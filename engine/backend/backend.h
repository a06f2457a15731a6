// The Backend seam: the ops a decoder layer needs, implemented once per device (CpuBackend here, CudaBackend in
// kernels/). Model code is written only against this interface and never mentions a device.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "engine/attention/attention_plan.h"
#include "engine/attention/block_mask.h"
#include "engine/backend/decode_step.h"
#include "engine/backend/rope_table.h"
#include "engine/backend/small_mlp.h"
#include "engine/backend/tensor.h"
#include "engine/backend/token_sampling.h"
#include "engine/core/tensor_view.h"

namespace flux::engine {

// A point on the backend's clock: host steady time on the CPU, an event on a GPU stream.
struct TimeMark {
  double host_ms = 0.0;
  std::shared_ptr<void> event;
};

// Two marks around some work, read later (reading a span may wait for the device: read them once the work is done).
struct TimeSpan {
  TimeMark start, end;
};

// Device memory as a backend's allocator and driver see it (all zero where not tracked: the CPU backend). The GPU soak
// (tests/soak/cpu_soak.cpp --backend cuda) checks that in_use returns to its baseline after every run.
struct DeviceMemory {
  std::size_t in_use = 0;        // allocated through the backend's pool and not yet freed (this process, all backends)
  std::size_t reserved = 0;      // held by that pool: in use plus cached for reuse
  std::size_t device_free = 0;   // free on the device (driver view, all processes)
  std::size_t device_total = 0;
};

// What an attention prefill actually computed, for the report.
struct AttentionStats {
  double density = 1.0;  // computed KV blocks / causal KV blocks
  // The data-dependent selection (XAttention) when asked for (record_mask), aggregated over heads; empty for static
  // kinds (their mask follows from the plan) or when not asked for. Call it once, after the layer's work is done:
  // CUDA reads its device lists only then, so recording adds neither a wait nor host work to the attention time.
  std::function<BlockMask()> mask;
  // Decoder::prefill_layer: around each attention_prefill call (one per chunk), unread so timing adds no wait; the
  // Session sums them (spans_ms) after the layer's own end mark.
  std::vector<TimeSpan> attention_spans;
};

// A decode step's inputs (decode_step.h) in backend memory; set_decode_step writes them in stream order.
struct DecodeStep {
  std::shared_ptr<void> storage;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;         // "cpu", "cuda"
  virtual std::string device_name() const = 0;  // e.g. "2-core x86-64 (OpenBLAS)", "NVIDIA H100 80GB HBM3"
  // A run (a prefill and the decode after it) starts: the CPU backend on automatic threads looks again at how busy
  // the cores are. Cheap (no waiting): Session::run_prefill calls it inside the timed prefill.
  virtual void begin_run() {}
  virtual int threads() const { return 1; }  // host threads the backend computes with

  // Memory. Weights are uploaded once from fp32 host data (the backend picks its storage precision).
  virtual Tensor upload(std::span<const float> host, int64_t rows, int64_t cols) = 0;
  virtual Tensor empty(int64_t rows, int64_t cols) = 0;  // activation buffer, contents undefined
  virtual void download(const Tensor& t, std::span<float> host) = 0;
  // Views rows [row0, row0 + n) of t without copying.
  virtual Tensor row_view(const Tensor& t, int64_t row0, int64_t n) = 0;
  // dst rows [dst_row0, +src.rows) = src. Same column count.
  virtual void write_rows(Tensor& dst, int64_t dst_row0, const Tensor& src) = 0;
  // dst rows [dst_row0, +n) = src rows [src_row0, +n); src and dst may be different tensors.
  virtual void copy_rows(const Tensor& src, int64_t src_row0, Tensor& dst, int64_t dst_row0, int64_t n) = 0;
  virtual std::size_t bytes_per_element() const = 0;  // of activation storage
  // KV cache storage (KvCache allocates through empty_kv). The CPU backend stores F32 or F16 as set (the engine picks
  // F16 unless asked for the fp32 reference); the default ignores the choice and stores activations.
  virtual void set_kv_dtype(DType) {}
  virtual Tensor empty_kv(int64_t rows, int64_t cols) { return empty(rows, cols); }
  virtual std::size_t kv_bytes_per_element() const { return bytes_per_element(); }
  // A [rows, cols] weight of values uniform in [-scale, scale) from random_fill.h's generator (value i depends only
  // on seed and i). The default generates on the host and uploads one tensor at a time; CUDA generates on the device,
  // so random 8B-parameter models need no host copy.
  virtual Tensor random(int64_t rows, int64_t cols, float scale, uint64_t seed);
  // A [rows, cols] weight as a model file stores it (`bytes` of `type`, row-major, rows already in HF order). The
  // default dequantizes to fp32 and calls upload (CUDA stores that as BF16); the CPU backend keeps the block quants
  // and 16-bit types it multiplies directly (cpu/weight_matmul.h).
  // `mapping`, when given, keeps `bytes` valid for as long as it is held: a backend may then keep the tensor in place
  // (the CPU references the file mapping instead of copying it).
  virtual Tensor upload_weight(StorageType type, std::span<const std::byte> bytes, int64_t rows, int64_t cols,
                               std::shared_ptr<const void> mapping = {});
  // A random weight stored as `type` blocks (random_blocks.h: values within [-scale, scale]). The default builds
  // the blocks on the host and calls upload_weight; the CPU backend fills its own storage in place.
  virtual Tensor random_weight(int64_t rows, int64_t cols, float scale, uint64_t seed, StorageType type);
  // How matmuls with weight w execute, for reports: "q4_1 x q8", "bf16", "f32". The default names w's dtype.
  virtual std::string weight_execution(const Tensor& w) const;

  // Elementwise and row ops on [tokens, features] activations.
  virtual void embed(const Tensor& table, std::span<const int32_t> ids, Tensor& out) = 0;
  virtual void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) = 0;
  // RMSNorm over each head_dim-wide chunk of every row (Qwen3 QK-norm), in place.
  virtual void head_rms_norm(Tensor& x, const Tensor& weight, int head_dim, float eps) = 0;
  // out = x · wᵀ: x [n, in], w [out, in], out [n, out].
  virtual void matmul(const Tensor& x, const Tensor& w, Tensor& out) = 0;
  virtual void add_bias(Tensor& x, const Tensor& bias) = 0;   // bias [1, cols] added to every row
  virtual void add(Tensor& x, const Tensor& y) = 0;           // x += y
  virtual void swiglu(const Tensor& gate, const Tensor& up, Tensor& out) = 0;  // out = silu(gate) * up
  // Fused forms of matmul that a decode layer issues. The defaults compose the ops above; CUDA runs each as one GEMV
  // launch at decode sizes (fewer kernels per recorded step, no intermediate round trips through memory).
  virtual void matmul_add(const Tensor& x, const Tensor& w, Tensor& out);  // out += x · Wᵀ
  // out = silu(x · Gᵀ) * (x · Uᵀ)
  virtual void matmul_swiglu(const Tensor& x, const Tensor& gate, const Tensor& up, Tensor& out);
  // q, k, v = x · Wqᵀ, x · Wkᵀ, x · Wvᵀ
  virtual void matmul_qkv(const Tensor& x, const Tensor& wq, const Tensor& wk, const Tensor& wv, Tensor& q, Tensor& k,
                          Tensor& v);
  // The same three on rms_norm(x, norm, eps) (a layer's pre-attention and pre-MLP norms, the final norm before the
  // lm_head). The defaults normalise into a buffer first; CUDA folds the norm into the decode GEMV (every block
  // computes the row's scale itself), one launch instead of two.
  virtual void norm_matmul(const Tensor& x, const Tensor& norm, float eps, const Tensor& w, Tensor& out);
  virtual void norm_matmul_swiglu(const Tensor& x, const Tensor& norm, float eps, const Tensor& gate, const Tensor& up,
                                  Tensor& out);
  virtual void norm_matmul_qkv(const Tensor& x, const Tensor& norm, float eps, const Tensor& wq, const Tensor& wk,
                               const Tensor& wv, Tensor& q, Tensor& k, Tensor& v);
  // Rotary embedding, HF half-rotation convention, on every head (rope.head_dim() wide) of x; row r has position
  // pos0 + r and pair i turns by float(position · rope.inv_freq[i]); cos and sin are times rope.attention_scale.
  virtual void rope(Tensor& x, int64_t pos0, const RopeTable& rope) = 0;

  // Attention prefill of n_q queries at positions [q_pos0, q_pos0 + n_q) against keys/values rows [0, n_kv) of k/v,
  // under plan's mask. q/out [n_q, Hq·d], k/v [≥ n_kv, Hkv·d]. record_mask: return an XAttention selection in
  // stats.mask (CUDA then downloads its device lists; off, only the density comes back).
  virtual AttentionStats attention_prefill(const Tensor& q, const Tensor& k, const Tensor& v, int64_t q_pos0,
                                           int64_t n_kv, int n_heads, int n_kv_heads, int head_dim,
                                           const AttentionPlan& plan, Tensor& out, bool record_mask) = 0;
  // One decode query [1, Hq·d] attending every stored row [0, n_slots) of k/v (the cache stores exactly the rows
  // the layer's plan allows).
  virtual void attention_decode(const Tensor& q, const Tensor& k, const Tensor& v, int64_t n_slots, int n_heads,
                                int n_kv_heads, int head_dim, Tensor& out) = 0;

  // Decode-step forms of the position-dependent ops: they read the token and position from `step` when the work
  // runs. The defaults keep the step on the host and call the ops above; CUDA keeps it on the device.
  virtual DecodeStep make_decode_step();
  virtual void set_decode_step(DecodeStep& step, int32_t token, int64_t pos);
  virtual void embed_step(const Tensor& table, const DecodeStep& step, Tensor& out);  // out [1, cols]
  // By rope.at_decode_position(step's position): dynamic NTK's frequencies follow the device-side position.
  virtual void rope_step(Tensor& x, const DecodeStep& step, const RopeTable& rope);
  // Stores k/v [1, kv_dim] in the cache row `layout` gives the step's position.
  virtual void store_kv_step(const Tensor& k, const Tensor& v, const DecodeStep& step, const KvLayout& layout,
                             Tensor& cache_k, Tensor& cache_v);
  // A decode step's attention inputs made ready in one op: per-head RMSNorm of q and k by norm.q / norm.k (Qwen3's
  // QK-norm; null: none), then rope_step of both, then store_kv_step of k and v. The default issues those ops; CUDA
  // runs them as one launch (kernels/decode_fused.cu).
  struct QkNorm {
    const Tensor* q = nullptr;
    const Tensor* k = nullptr;
    float eps = 0.0f;
  };
  virtual void attention_inputs_step(Tensor& q, Tensor& k, const Tensor& v, const QkNorm& norm, const DecodeStep& step,
                                     const RopeTable& rope, const KvLayout& layout, Tensor& cache_k, Tensor& cache_v);
  // attention_decode over the rows layout.reads_at(pos) gives (all stored rows, or a block-streaming layer's sink
  // and local rows of its full cache; zeros when that is none). The default gathers two runs into one buffer.
  virtual void attention_decode_step(const Tensor& q, const Tensor& k, const Tensor& v, const DecodeStep& step,
                                     const KvLayout& layout, int n_heads, int n_kv_heads, int head_dim, Tensor& out);

  // Recording (CUDA graphs): record(body) captures the work `body` issues, without running it, and returns a
  // handle that replay() launches. Null when the backend cannot record (the default; the caller runs body itself).
  // body must issue the same work every time and read per-step values only through a DecodeStep.
  virtual std::shared_ptr<void> record(const std::function<void()>& body);
  virtual void replay(const std::shared_ptr<void>& recording);

  // Column means of x over the rows of `ranges` (disjoint), as fp32 on the host: the router's boundary pooling.
  // The default downloads those rows; CUDA reduces on the device and downloads only the means.
  virtual std::vector<float> mean_of_rows(const Tensor& x, std::span<const RowRange> ranges);

  // The router's step of one layer: the column means of x over `ranges`, read as [x.cols / mlp.in(), mlp.in()]
  // rows (one per KV head), through `mlp`; out [rows, mlp.out()] on the host, and the time the backend spent
  // computing them (on the device for CUDA: pooling and MLP kernels, not the one-time weight upload or the
  // read-back). The default runs mean_of_rows and SmallMlp::forward; CUDA runs both on the device.
  struct PooledMlp {
    std::vector<float> out;
    double compute_ms = 0.0;
  };
  virtual PooledMlp pooled_mlp(const Tensor& x, std::span<const RowRange> ranges, const SmallMlp& mlp);

  // Routing with no host round trip (CUDA; the Session's use: Session::run_prefill). route_on_device runs
  // pooled_mlp's pooling and MLP and then the decision rule on the device, into slot `slot` of a table
  // (make_route_table), reading nothing back; gate_attention arms the next attention_prefill call to queue both
  // plans, `dense` running when the slot says FA and `sparse` when it says SA (the other's kernels exit at once);
  // read_route_table downloads every slot once, after the prefill. Without device_routing() (the default) the
  // others throw and the caller decides on the host.
  enum class RouteRule { FluxSoftmax, FluxSigmoid, ElasticMean };  // decide_logits' three forms
  struct RouteTable {
    std::shared_ptr<void> storage;
    int n_slots = 0;  // not "slots": a Qt macro in the app, which includes this header
    std::vector<int> outputs;  // per slot: how many MLP outputs route_on_device wrote (0: none yet)
  };
  struct RoutedSlot {
    std::vector<float> out;  // the MLP's outputs, as pooled_mlp returns them (empty: the slot never ran)
    bool sa = false;         // the device's decision
  };
  static constexpr int kMaxRouteOutputs = 64;  // MLP outputs per slot (Elastic: one per KV head)
  virtual bool device_routing() const { return false; }
  virtual RouteTable make_route_table(int slots);
  virtual TimeSpan route_on_device(const Tensor& x, std::span<const RowRange> ranges, const SmallMlp& mlp,
                                   RouteRule rule, float temperature, float threshold, RouteTable& table, int slot);
  virtual void gate_attention(const RouteTable& table, int slot, const AttentionPlan& dense,
                              const AttentionPlan& sparse);
  virtual std::vector<RoutedSlot> read_route_table(const RouteTable& table);

  // Samples one token from logits [1, vocab] and reads back only its id. The default downloads the logits and runs
  // sample_token_reference; CUDA samples on the device.
  virtual int32_t sample_token(const Tensor& logits, const SampleParams& params);

  // Device memory high-water mark in bytes since the backend was made or reset_peak_memory (0 when not tracked).
  virtual std::size_t peak_memory_bytes() { return 0; }
  virtual void reset_peak_memory() {}
  // The device memory now, after the work queued so far has finished.
  virtual DeviceMemory device_memory() { return {}; }

  // Timing.
  virtual TimeMark mark() = 0;
  virtual double elapsed_ms(const TimeMark& from, const TimeMark& to) = 0;  // may wait for the device
  virtual void synchronize() = 0;
};

std::unique_ptr<Backend> make_cpu_backend(int n_threads = 0);

// The summed length of spans on the backend's clock.
double spans_ms(Backend& backend, const std::vector<TimeSpan>& spans);

}  // namespace flux::engine
