// The CPU reference backend: fp32 activations, OpenBLAS for fp32 GEMMs, OpenMP loops for the rest; weights kept in
// their file's blocks multiply through cpu/weight_matmul.h; the KV cache fp32 or fp16 (set_kv_dtype). It defines what
// the CUDA backend is checked against, so clarity wins over cleverness here.
#pragma once

#include "engine/backend/backend.h"
#include "engine/backend/cpu_threads.h"

namespace flux::engine {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int n_threads);

  std::string name() const override { return "cpu"; }
  std::string device_name() const override;
  void begin_run() override;
  int threads() const override { return n_threads_; }

  Tensor upload(std::span<const float> host, int64_t rows, int64_t cols) override;
  // Keeps GGML block quants (Q4_0..Q8_0, Q4_K, Q5_K, Q6_K) and F16/BF16 as stored; other types go to fp32.
  Tensor upload_weight(StorageType type, std::span<const std::byte> bytes, int64_t rows, int64_t cols,
                       std::shared_ptr<const void> mapping = {}) override;
  Tensor random_weight(int64_t rows, int64_t cols, float scale, uint64_t seed, StorageType type) override;
  std::string weight_execution(const Tensor& w) const override;
  Tensor empty(int64_t rows, int64_t cols) override;
  void download(const Tensor& t, std::span<float> host) override;
  Tensor row_view(const Tensor& t, int64_t row0, int64_t n) override;
  void write_rows(Tensor& dst, int64_t dst_row0, const Tensor& src) override;
  void copy_rows(const Tensor& src, int64_t src_row0, Tensor& dst, int64_t dst_row0, int64_t n) override;
  std::size_t bytes_per_element() const override { return sizeof(float); }
  // F32 or F16; FLUX_CPU_KV=f32|f16 overrides the choice (measurements). F32 until set.
  void set_kv_dtype(DType dtype) override;
  Tensor empty_kv(int64_t rows, int64_t cols) override;
  std::size_t kv_bytes_per_element() const override { return kv_dtype_ == DType::F16 ? 2 : 4; }

  void embed(const Tensor& table, std::span<const int32_t> ids, Tensor& out) override;
  void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) override;
  void head_rms_norm(Tensor& x, const Tensor& weight, int head_dim, float eps) override;
  void matmul(const Tensor& x, const Tensor& w, Tensor& out) override;
  // Block-quant weights at decode sizes: one parallel region per call (cpu::weight_matmul_group), the residual added
  // in place; anything else composes the ops as Backend does.
  void matmul_add(const Tensor& x, const Tensor& w, Tensor& out) override;
  void matmul_swiglu(const Tensor& x, const Tensor& gate, const Tensor& up, Tensor& out) override;
  void matmul_qkv(const Tensor& x, const Tensor& wq, const Tensor& wk, const Tensor& wv, Tensor& q, Tensor& k,
                  Tensor& v) override;
  void add_bias(Tensor& x, const Tensor& bias) override;
  void add(Tensor& x, const Tensor& y) override;
  void swiglu(const Tensor& gate, const Tensor& up, Tensor& out) override;
  void rope(Tensor& x, int64_t pos0, const RopeTable& rope) override;

  AttentionStats attention_prefill(const Tensor& q, const Tensor& k, const Tensor& v, int64_t q_pos0, int64_t n_kv,
                                   int n_heads, int n_kv_heads, int head_dim, const AttentionPlan& plan, Tensor& out,
                                   bool record_mask) override;
  void attention_decode(const Tensor& q, const Tensor& k, const Tensor& v, int64_t n_slots, int n_heads, int n_kv_heads,
                        int head_dim, Tensor& out) override;
  void attention_decode_step(const Tensor& q, const Tensor& k, const Tensor& v, const DecodeStep& step,
                             const KvLayout& layout, int n_heads, int n_kv_heads, int head_dim, Tensor& out) override;

  TimeMark mark() override;
  double elapsed_ms(const TimeMark& from, const TimeMark& to) override { return to.host_ms - from.host_ms; }
  void synchronize() override {}

 private:
  void use_threads(int n);

  int n_threads_;
  bool automatic_threads_;  // -t 0: begin_run re-decides from how busy the cores were since the last look
  CoreLoadProbe load_probe_;
  DType kv_dtype_ = DType::F32;
};

}  // namespace flux::engine
