#include "engine/parallel/tensor_parallel.h"

#include <algorithm>

#include "engine/core/error.h"

namespace flux::engine {
namespace {

// [rows, cols] fp32 weight on the host.
struct HostMatrix {
  std::vector<float> values;
  int64_t rows = 0, cols = 0;
};

HostMatrix download(Backend& from, const Tensor& w, const char* name) {
  require(w.dtype == DType::F32, "tensor parallel: {} is not fp32 (load the weights with WeightStorage::F32)", name);
  HostMatrix m{std::vector<float>(static_cast<std::size_t>(w.numel())), w.rows, w.cols};
  from.download(w, m.values);
  return m;
}

Tensor rows_of(Backend& from, Backend& to, const Tensor& w, int64_t row0, int64_t n, const char* name) {
  const HostMatrix m = download(from, w, name);
  require(row0 + n <= m.rows, "tensor parallel: {} has {} rows, the shard needs [{}, {})", name, m.rows, row0, row0 + n);
  return to.upload(std::span<const float>(m.values).subspan(static_cast<std::size_t>(row0 * m.cols),
                                                          static_cast<std::size_t>(n * m.cols)),
                   n, m.cols);
}

Tensor cols_of(Backend& from, Backend& to, const Tensor& w, int64_t col0, int64_t n, const char* name) {
  const HostMatrix m = download(from, w, name);
  require(col0 + n <= m.cols, "tensor parallel: {} has {} columns, the shard needs [{}, {})", name, m.cols, col0,
          col0 + n);
  std::vector<float> out(static_cast<std::size_t>(m.rows * n));
  for (int64_t r = 0; r < m.rows; ++r)
    std::copy_n(m.values.begin() + r * m.cols + col0, n, out.begin() + r * n);
  return to.upload(out, m.rows, n);
}

Tensor whole(Backend& from, Backend& to, const Tensor& w, const char* name) {
  if (w.empty()) return {};
  return rows_of(from, to, w, 0, w.rows, name);
}

}  // namespace

TensorParallelShard tensor_parallel_shard(const ModelConfig& c, int rank, int size) {
  require(size >= 1 && rank >= 0 && rank < size, "tensor parallel: rank {} of {}", rank, size);
  auto divides = [&](int64_t n, const char* what) {
    require(n % size == 0, "tensor parallel: {} {} do not split into {} equal shares", n, what, size);
  };
  divides(c.n_heads, "attention heads");
  divides(c.ffn_hidden, "MLP hidden units (intermediate_size)");
  divides(c.vocab_size, "vocabulary entries");
  require(c.n_kv_heads % size == 0 || size % c.n_kv_heads == 0,
          "tensor parallel: {} KV heads neither split into {} shares nor replicate evenly over {} ranks",
          c.n_kv_heads, size, size);
  TensorParallelShard s;
  s.rank = rank, s.size = size;
  s.n_q_heads = c.n_heads / size;
  s.q_head0 = rank * s.n_q_heads;
  const int group = c.n_heads / c.n_kv_heads;  // query heads per KV head
  if (c.n_kv_heads % size == 0) {
    s.n_kv_heads = c.n_kv_heads / size;
    s.kv_head0 = rank * s.n_kv_heads;
  } else {  // more ranks than KV heads: each KV head is kept by size / n_kv_heads ranks, its group split among them
    s.n_kv_heads = 1;
    s.kv_head0 = s.q_head0 / group;
  }
  s.n_ffn = c.ffn_hidden / size;
  s.ffn0 = rank * s.n_ffn;
  s.n_vocab = c.vocab_size / size;
  s.vocab0 = rank * s.n_vocab;
  return s;
}

ModelConfig shard_config(const ModelConfig& c, const TensorParallelShard& s) {
  ModelConfig out = c;
  out.n_heads = s.n_q_heads;
  out.n_kv_heads = s.n_kv_heads;
  out.ffn_hidden = s.n_ffn;
  out.vocab_size = s.n_vocab;
  return out;
}

DecoderWeights shard_weights(const DecoderWeights& full, const ModelConfig& c, const TensorParallelShard& s,
                             Backend& from, Backend& to) {
  const int64_t d = c.head_dim;
  const int64_t q0 = s.q_head0 * d, nq = s.n_q_heads * d, k0 = s.kv_head0 * d, nk = s.n_kv_heads * d;
  DecoderWeights out;
  out.embed_tokens = rows_of(from, to, full.embed_tokens, s.vocab0, s.n_vocab, "embed_tokens");
  out.lm_head = rows_of(from, to, full.lm_head, s.vocab0, s.n_vocab, "lm_head");
  out.final_norm = whole(from, to, full.final_norm, "final_norm");
  for (const LayerWeights& w : full.layers) {
    LayerWeights l;
    l.input_norm = whole(from, to, w.input_norm, "input_layernorm");
    l.q_proj = rows_of(from, to, w.q_proj, q0, nq, "q_proj");
    l.k_proj = rows_of(from, to, w.k_proj, k0, nk, "k_proj");
    l.v_proj = rows_of(from, to, w.v_proj, k0, nk, "v_proj");
    l.o_proj = cols_of(from, to, w.o_proj, q0, nq, "o_proj");
    if (!w.q_bias.empty()) {
      l.q_bias = cols_of(from, to, w.q_bias, q0, nq, "q_proj.bias");
      l.k_bias = cols_of(from, to, w.k_bias, k0, nk, "k_proj.bias");
      l.v_bias = cols_of(from, to, w.v_bias, k0, nk, "v_proj.bias");
    }
    l.q_norm = whole(from, to, w.q_norm, "q_norm");
    l.k_norm = whole(from, to, w.k_norm, "k_norm");
    l.post_attention_norm = whole(from, to, w.post_attention_norm, "post_attention_layernorm");
    l.gate_proj = rows_of(from, to, w.gate_proj, s.ffn0, s.n_ffn, "gate_proj");
    l.up_proj = rows_of(from, to, w.up_proj, s.ffn0, s.n_ffn, "up_proj");
    l.down_proj = cols_of(from, to, w.down_proj, s.ffn0, s.n_ffn, "down_proj");
    out.layers.push_back(std::move(l));
  }
  return out;
}

TensorParallelDecoder::TensorParallelDecoder(const ModelConfig& config, const DecoderWeights& full, Backend& from,
                                             Backend& backend, Communicator& comm)
    : config_(config),
      shard_(tensor_parallel_shard(config, comm.rank(), comm.size())),
      comm_(comm),
      decoder_(shard_config(config, shard_), shard_weights(full, config, shard_, from, backend), backend) {
  decoder_.set_residual_reduce([this](Tensor& partial) { all_reduce(partial); });
}

void TensorParallelDecoder::all_reduce(Tensor& t) {
  Backend& b = decoder_.backend();
  std::vector<float> host(static_cast<std::size_t>(t.numel()));
  b.download(t, host);
  comm_.all_reduce_sum(host);
  b.copy_rows(b.upload(host, t.rows, t.cols), 0, t, 0, t.rows);
}

// Each rank looks its slice's tokens up and contributes zeros for the others; the all-reduce assembles the rows.
Tensor TensorParallelDecoder::embed(std::span<const int32_t> tokens) {
  Backend& b = decoder_.backend();
  std::vector<int32_t> local(tokens.size());
  std::vector<bool> mine(tokens.size());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    require(tokens[i] >= 0 && tokens[i] < config_.vocab_size, "token id {} outside the vocabulary of {}", tokens[i],
            config_.vocab_size);
    mine[i] = tokens[i] >= shard_.vocab0 && tokens[i] < shard_.vocab0 + shard_.n_vocab;
    local[i] = mine[i] ? static_cast<int32_t>(tokens[i] - shard_.vocab0) : 0;
  }
  Tensor x = decoder_.embed(local);
  std::vector<float> host(static_cast<std::size_t>(x.numel()));
  b.download(x, host);
  for (std::size_t i = 0; i < tokens.size(); ++i)
    if (!mine[i]) std::fill_n(host.begin() + static_cast<std::ptrdiff_t>(i) * x.cols, x.cols, 0.0f);
  comm_.all_reduce_sum(host);
  return b.upload(host, x.rows, x.cols);
}

std::vector<float> TensorParallelDecoder::logits(const Tensor& x) {
  const Tensor part = decoder_.logits(x);  // [rows, n_vocab]: this rank's vocabulary slice
  std::vector<float> mine(static_cast<std::size_t>(part.numel()));
  decoder_.backend().download(part, mine);
  std::vector<float> ranks(mine.size() * static_cast<std::size_t>(shard_.size));
  comm_.all_gather(mine, ranks);  // [rank][row][slice]
  std::vector<float> out(static_cast<std::size_t>(x.rows * config_.vocab_size));
  const int64_t nv = shard_.n_vocab;
  for (int r = 0; r < shard_.size; ++r)
    for (int64_t row = 0; row < x.rows; ++row)
      std::copy_n(ranks.begin() + (r * x.rows + row) * nv, nv, out.begin() + row * config_.vocab_size + r * nv);
  return out;
}

}  // namespace flux::engine
