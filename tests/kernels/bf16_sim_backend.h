// A test-only reference: CpuBackend with every stored value rounded to bf16 (uploads and every op's output), i.e. the
// CUDA backend's storage precision with CPU arithmetic. CUDA vs this isolates kernel bugs from bf16's own error, which
// CUDA vs the fp32 CpuBackend mixes in (a few percent of the logits on tiny random models).
#pragma once

#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {

class Bf16SimBackend final : public Backend {
 public:
  Bf16SimBackend() : cpu_(make_cpu_backend(2)) {}

  std::string name() const override { return "cpu-bf16-sim"; }
  std::string device_name() const override { return cpu_->device_name(); }

  Tensor upload(std::span<const float> host, int64_t rows, int64_t cols) override {
    std::vector<float> rounded(host.begin(), host.end());
    for (float& x : rounded) x = round_bf16(x);
    return cpu_->upload(rounded, rows, cols);
  }
  Tensor empty(int64_t rows, int64_t cols) override { return cpu_->empty(rows, cols); }
  void download(const Tensor& t, std::span<float> host) override { cpu_->download(t, host); }
  Tensor row_view(const Tensor& t, int64_t row0, int64_t n) override { return cpu_->row_view(t, row0, n); }
  void write_rows(Tensor& dst, int64_t dst_row0, const Tensor& src) override { cpu_->write_rows(dst, dst_row0, src); }
  void copy_rows(const Tensor& src, int64_t src_row0, Tensor& dst, int64_t dst_row0, int64_t n) override {
    cpu_->copy_rows(src, src_row0, dst, dst_row0, n);
  }
  std::size_t bytes_per_element() const override { return 2; }

  void embed(const Tensor& table, std::span<const int32_t> ids, Tensor& out) override { cpu_->embed(table, ids, out); }
  void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out) override {
    cpu_->rms_norm(x, weight, eps, out);
    round(out);
  }
  void head_rms_norm(Tensor& x, const Tensor& weight, int head_dim, float eps) override {
    cpu_->head_rms_norm(x, weight, head_dim, eps);
    round(x);
  }
  void matmul(const Tensor& x, const Tensor& w, Tensor& out) override {
    cpu_->matmul(x, w, out);
    round(out);
  }
  void add_bias(Tensor& x, const Tensor& bias) override {
    cpu_->add_bias(x, bias);
    round(x);
  }
  void add(Tensor& x, const Tensor& y) override {
    cpu_->add(x, y);
    round(x);
  }
  void swiglu(const Tensor& gate, const Tensor& up, Tensor& out) override {
    cpu_->swiglu(gate, up, out);
    round(out);
  }
  void rope(Tensor& x, int64_t pos0, const RopeTable& rope) override {
    cpu_->rope(x, pos0, rope);
    round(x);
  }
  AttentionStats attention_prefill(const Tensor& q, const Tensor& k, const Tensor& v, int64_t q_pos0, int64_t n_kv,
                                   int n_heads, int n_kv_heads, int head_dim, const AttentionPlan& plan,
                                   Tensor& out, bool record_mask) override {
    const AttentionStats stats =
        cpu_->attention_prefill(q, k, v, q_pos0, n_kv, n_heads, n_kv_heads, head_dim, plan, out, record_mask);
    round(out);
    return stats;
  }
  void attention_decode(const Tensor& q, const Tensor& k, const Tensor& v, int64_t n_slots, int n_heads, int n_kv_heads,
                        int head_dim, Tensor& out) override {
    cpu_->attention_decode(q, k, v, n_slots, n_heads, n_kv_heads, head_dim, out);
    round(out);
  }
  TimeMark mark() override { return cpu_->mark(); }
  double elapsed_ms(const TimeMark& from, const TimeMark& to) override { return cpu_->elapsed_ms(from, to); }
  void synchronize() override {}

 private:
  static void round(Tensor& t) {
    float* p = static_cast<float*>(t.data);
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = round_bf16(p[i]);
  }

  std::unique_ptr<Backend> cpu_;
};

}  // namespace flux::engine::testing_gpu
