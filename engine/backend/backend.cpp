// Default implementations of the Backend ops that can be expressed through the others (host generation + upload,
// download + host sampling); device backends override them to keep the data on the device.
#include "engine/backend/backend.h"

#include "engine/backend/random_blocks.h"
#include "engine/backend/random_fill.h"
#include "engine/backend/weight_dtype.h"
#include "engine/format/ggml_quant.h"
#include "engine/core/error.h"

namespace flux::engine {

double spans_ms(Backend& backend, const std::vector<TimeSpan>& spans) {
  double ms = 0.0;
  // The last span ends last: reading it first waits once, the others have completed by then.
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) ms += backend.elapsed_ms(it->start, it->end);
  return ms;
}

Tensor Backend::random(int64_t rows, int64_t cols, float scale, uint64_t seed) {
  require(rows >= 0 && cols >= 0, "random tensor: negative shape [{}, {}]", rows, cols);
  std::vector<float> host(static_cast<std::size_t>(rows * cols));
  for (std::size_t i = 0; i < host.size(); ++i) host[i] = random_uniform(seed, i, scale);
  return upload(host, rows, cols);
}

Tensor Backend::upload_weight(StorageType type, std::span<const std::byte> bytes, int64_t rows, int64_t cols,
                              std::shared_ptr<const void> /*mapping: copies anyway*/) {
  std::vector<float> host(static_cast<std::size_t>(rows * cols));
  dequantize(type, bytes, host);
  return upload(host, rows, cols);
}

Tensor Backend::random_weight(int64_t rows, int64_t cols, float scale, uint64_t seed, StorageType type) {
  if (type == StorageType::F32) return random(rows, cols, scale, seed);
  std::vector<std::byte> blocks(static_cast<std::size_t>(tensor_bytes(type, rows * cols)));
  fill_random_blocks(type, blocks, rows, cols, scale, seed);
  return upload_weight(type, blocks, rows, cols);
}

std::string Backend::weight_execution(const Tensor& w) const { return dtype_name(w.dtype); }

int32_t Backend::sample_token(const Tensor& logits, const SampleParams& params) {
  require(logits.rows == 1 && logits.cols > 0, "sample_token: logits must be one row, got [{}, {}]", logits.rows,
          logits.cols);
  std::vector<float> host(static_cast<std::size_t>(logits.cols));
  download(logits, host);
  return sample_token_reference(host, params);
}

std::vector<float> Backend::mean_of_rows(const Tensor& x, std::span<const RowRange> ranges) {
  const auto width = static_cast<std::size_t>(x.cols);
  std::vector<double> sum(width, 0.0);
  std::vector<float> rows;
  int64_t count = 0;
  for (const RowRange& r : ranges) {
    require(r.begin >= 0 && r.begin <= r.end && r.end <= x.rows, "mean_of_rows: rows [{}, {}) of a {}-row tensor",
            r.begin, r.end, x.rows);
    rows.resize(static_cast<std::size_t>(r.end - r.begin) * width);
    download(row_view(x, r.begin, r.end - r.begin), rows);
    for (std::size_t i = 0; i < rows.size(); ++i) sum[i % width] += rows[i];
    count += r.end - r.begin;
  }
  std::vector<float> mean(width, 0.0f);
  for (std::size_t i = 0; i < width && count > 0; ++i) mean[i] = static_cast<float>(sum[i] / static_cast<double>(count));
  return mean;
}

void Backend::matmul_add(const Tensor& x, const Tensor& w, Tensor& out) {
  Tensor product = empty(x.rows, w.rows);
  matmul(x, w, product);
  add(out, product);
}

void Backend::matmul_swiglu(const Tensor& x, const Tensor& gate, const Tensor& up, Tensor& out) {
  Tensor g = empty(x.rows, gate.rows);
  Tensor u = empty(x.rows, up.rows);
  matmul(x, gate, g);
  matmul(x, up, u);
  swiglu(g, u, out);
}

void Backend::matmul_qkv(const Tensor& x, const Tensor& wq, const Tensor& wk, const Tensor& wv, Tensor& q, Tensor& k,
                         Tensor& v) {
  matmul(x, wq, q);
  matmul(x, wk, k);
  matmul(x, wv, v);
}

void Backend::norm_matmul(const Tensor& x, const Tensor& norm, float eps, const Tensor& w, Tensor& out) {
  Tensor h = empty(x.rows, x.cols);
  rms_norm(x, norm, eps, h);
  matmul(h, w, out);
}

void Backend::norm_matmul_swiglu(const Tensor& x, const Tensor& norm, float eps, const Tensor& gate, const Tensor& up,
                                 Tensor& out) {
  Tensor h = empty(x.rows, x.cols);
  rms_norm(x, norm, eps, h);
  matmul_swiglu(h, gate, up, out);
}

void Backend::norm_matmul_qkv(const Tensor& x, const Tensor& norm, float eps, const Tensor& wq, const Tensor& wk,
                              const Tensor& wv, Tensor& q, Tensor& k, Tensor& v) {
  Tensor h = empty(x.rows, x.cols);
  rms_norm(x, norm, eps, h);
  matmul_qkv(h, wq, wk, wv, q, k, v);
}

Backend::RouteTable Backend::make_route_table(int) {
  fail("backend {}: no routing on the device", name());
}
TimeSpan Backend::route_on_device(const Tensor&, std::span<const RowRange>, const SmallMlp&, RouteRule, float, float,
                                  RouteTable&, int) {
  fail("backend {}: no routing on the device", name());
}
void Backend::gate_attention(const RouteTable&, int, const AttentionPlan&, const AttentionPlan&) {
  fail("backend {}: no routing on the device", name());
}
std::vector<Backend::RoutedSlot> Backend::read_route_table(const RouteTable&) {
  fail("backend {}: no routing on the device", name());
}

Backend::PooledMlp Backend::pooled_mlp(const Tensor& x, std::span<const RowRange> ranges, const SmallMlp& mlp) {
  require(mlp.in() > 0 && x.cols % mlp.in() == 0, "pooled_mlp: {} columns are not rows of {}", x.cols, mlp.in());
  const TimeMark start = mark();
  const std::vector<float> pooled = mean_of_rows(x, ranges);
  PooledMlp result;
  result.out = mlp.forward(pooled.data(), static_cast<int>(x.cols / mlp.in()));
  result.compute_ms = elapsed_ms(start, mark());
  return result;
}

DecodeStep Backend::make_decode_step() {
  return DecodeStep{std::make_shared<DecodeStepData>()};
}

namespace {
DecodeStepData& host_step(const DecodeStep& step) {
  require(step.storage != nullptr, "decode step: not made by make_decode_step");
  return *static_cast<DecodeStepData*>(step.storage.get());
}
}  // namespace

void Backend::set_decode_step(DecodeStep& step, int32_t token, int64_t pos) {
  DecodeStepData& d = host_step(step);
  d.token = token;
  d.pos = pos;
}

void Backend::embed_step(const Tensor& table, const DecodeStep& step, Tensor& out) {
  const int32_t ids[1] = {host_step(step).token};
  embed(table, ids, out);
}

void Backend::rope_step(Tensor& x, const DecodeStep& step, const RopeTable& rope_table) {
  const int64_t pos = host_step(step).pos;
  rope(x, pos, rope_table.at_decode_position(pos));
}

void Backend::store_kv_step(const Tensor& k, const Tensor& v, const DecodeStep& step, const KvLayout& layout,
                            Tensor& cache_k, Tensor& cache_v) {
  const int64_t slot = layout.slot_of(host_step(step).pos);
  copy_rows(k, 0, cache_k, slot, 1);
  copy_rows(v, 0, cache_v, slot, 1);
}

void Backend::attention_inputs_step(Tensor& q, Tensor& k, const Tensor& v, const QkNorm& norm, const DecodeStep& step,
                                    const RopeTable& rope, const KvLayout& layout, Tensor& cache_k, Tensor& cache_v) {
  require((norm.q == nullptr) == (norm.k == nullptr), "attention_inputs_step: QK-norm needs both weights");
  if (norm.q != nullptr) {
    head_rms_norm(q, *norm.q, rope.head_dim(), norm.eps);
    head_rms_norm(k, *norm.k, rope.head_dim(), norm.eps);
  }
  rope_step(q, step, rope);
  rope_step(k, step, rope);
  store_kv_step(k, v, step, layout, cache_k, cache_v);
}

void Backend::attention_decode_step(const Tensor& q, const Tensor& k, const Tensor& v, const DecodeStep& step,
                                    const KvLayout& layout, int n_heads, int n_kv_heads, int head_dim, Tensor& out) {
  const KvReads reads = layout.reads_at(host_step(step).pos);
  if (reads.rows == 0) {  // nothing to read (block streaming, see KvLayout): zeros, as the reference kernel writes
    const std::vector<float> zeros(static_cast<std::size_t>(out.numel()), 0.0f);
    write_rows(out, 0, upload(zeros, out.rows, out.cols));
    return;
  }
  if (reads.gap == 0) {
    attention_decode(q, k, v, reads.rows, n_heads, n_kv_heads, head_dim, out);
    return;
  }
  // Two runs of rows: gather them (a backend that reads the runs in place overrides this).
  Tensor k_rows = empty(reads.rows, k.cols), v_rows = empty(reads.rows, v.cols);
  const int64_t tail = reads.rows - reads.gap_at;
  if (reads.gap_at > 0) {
    copy_rows(k, 0, k_rows, 0, reads.gap_at);
    copy_rows(v, 0, v_rows, 0, reads.gap_at);
  }
  copy_rows(k, reads.gap_at + reads.gap, k_rows, reads.gap_at, tail);
  copy_rows(v, reads.gap_at + reads.gap, v_rows, reads.gap_at, tail);
  attention_decode(q, k_rows, v_rows, reads.rows, n_heads, n_kv_heads, head_dim, out);
}

std::shared_ptr<void> Backend::record(const std::function<void()>&) {
  return nullptr;
}

void Backend::replay(const std::shared_ptr<void>&) {
  fail("backend {}: cannot replay a recording it did not make", name());
}

}  // namespace flux::engine
