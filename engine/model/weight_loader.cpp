#include "engine/model/weight_loader.h"

#include <cmath>
#include <cstring>

#include "engine/backend/weight_dtype.h"
#include "engine/core/error.h"
#include "engine/format/tensor_convert.h"

namespace flux::engine {
namespace {

std::string layer_name(int l, const char* suffix) { return fmt::format("model.layers.{}.{}", l, suffix); }

std::string shape_string(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

std::vector<RequiredTensor> required_tensors(const ModelConfig& c) {
  const int64_t h = c.hidden, q = c.q_dim(), kv = c.kv_dim(), f = c.ffn_hidden, v = c.vocab_size;
  std::vector<RequiredTensor> out = {{"model.embed_tokens.weight", {v, h}}, {"model.norm.weight", {h}}};
  if (!c.tied_embeddings) out.push_back({"lm_head.weight", {v, h}});
  for (int l = 0; l < c.n_layers; ++l) {
    out.push_back({layer_name(l, "input_layernorm.weight"), {h}});
    out.push_back({layer_name(l, "self_attn.q_proj.weight"), {q, h}});
    out.push_back({layer_name(l, "self_attn.k_proj.weight"), {kv, h}});
    out.push_back({layer_name(l, "self_attn.v_proj.weight"), {kv, h}});
    out.push_back({layer_name(l, "self_attn.o_proj.weight"), {h, q}});
    if (c.attention_bias) {
      out.push_back({layer_name(l, "self_attn.q_proj.bias"), {q}});
      out.push_back({layer_name(l, "self_attn.k_proj.bias"), {kv}});
      out.push_back({layer_name(l, "self_attn.v_proj.bias"), {kv}});
    }
    if (c.qk_norm) {
      out.push_back({layer_name(l, "self_attn.q_norm.weight"), {c.head_dim}});
      out.push_back({layer_name(l, "self_attn.k_norm.weight"), {c.head_dim}});
    }
    out.push_back({layer_name(l, "post_attention_layernorm.weight"), {h}});
    out.push_back({layer_name(l, "mlp.gate_proj.weight"), {f, h}});
    out.push_back({layer_name(l, "mlp.up_proj.weight"), {f, h}});
    out.push_back({layer_name(l, "mlp.down_proj.weight"), {h, f}});
  }
  return out;
}

void validate_decoder_tensors(const ModelFiles& files) {
  for (const RequiredTensor& r : required_tensors(files.config())) {
    const TensorView* t = files.find(r.name);
    require(t != nullptr, "{}: missing tensor {}", files.path().string(), r.name);
    require(t->shape == r.shape, "{}: tensor {} has shape {}, expected {}", files.path().string(), r.name,
            shape_string(t->shape), shape_string(r.shape));
    // Checked here, not at upload: `inspect` said "OK, loadable" for an I16 weight that then failed to load.
    require(is_float_storage(t->type), "{}: tensor {} is stored as {}, not a float or GGML-quantized type",
            files.path().string(), r.name, storage_type_name(t->type));
  }
  // A config with fewer layers than the file (block_count 2 on a 30-layer file) ran with the rest dropped.
  const int n = files.config().n_layers;
  require(files.find(layer_name(n, "input_layernorm.weight")) == nullptr &&
              files.find(layer_name(n, "self_attn.q_proj.weight")) == nullptr,
          "{}: the file holds tensors of layer {} but its config has {} layers (block_count / num_hidden_layers)",
          files.path().string(), n, n);
}

namespace {

// The converter stored HF row (h, t, i) — half t ∈ {0,1}, index i < d/2 — at row (h, i, t).
template <typename T>
void unpermute_rows(std::vector<T>& w, int n_heads, int head_dim, int64_t row_elems) {
  const int half = head_dim / 2;
  std::vector<T> out(w.size());
  for (int h = 0; h < n_heads; ++h)
    for (int i = 0; i < half; ++i)
      for (int t = 0; t < 2; ++t) {
        const int64_t src = int64_t{h} * head_dim + i * 2 + t;
        const int64_t dst = int64_t{h} * head_dim + t * half + i;
        std::memcpy(&out[static_cast<std::size_t>(dst * row_elems)], &w[static_cast<std::size_t>(src * row_elems)],
                    static_cast<std::size_t>(row_elems) * sizeof(T));
      }
  w.swap(out);
}

// The head count of a GGUF-permuted Q/K projection, 0 for every other tensor.
int permuted_heads(const ModelFiles& files, const std::string& hf_name, const TensorView& t) {
  if (!files.rope_permuted() || t.shape.size() != 2) return 0;
  const ModelConfig& c = files.config();
  if (hf_name.ends_with("self_attn.q_proj.weight")) return c.n_heads;
  if (hf_name.ends_with("self_attn.k_proj.weight")) return c.n_kv_heads;
  return 0;
}

// NaN or Inf in a weight turns every later activation into NaN (the run then printed NUL bytes with status ok):
// the fp32 copies made here are refused by tensor name; weights kept as stored are caught by the run's logits check.
void require_finite(const std::vector<float>& data, const ModelFiles& files, const std::string& name) {
  for (std::size_t i = 0; i < data.size(); ++i)
    if (!std::isfinite(data[i]))
      fail("{}: tensor {} holds {} at element {}: the file's weights are damaged", files.path().string(), name,
           std::isnan(data[i]) ? "NaN" : "Inf", i);
}

}  // namespace

void unpermute_rope_rows(std::vector<float>& w, int n_heads, int head_dim, int64_t cols) {
  unpermute_rows(w, n_heads, head_dim, cols);
}

void unpermute_rope_rows(std::vector<std::byte>& w, int n_heads, int head_dim, int64_t row_bytes) {
  unpermute_rows(w, n_heads, head_dim, row_bytes);
}

std::vector<float> load_tensor_f32(const ModelFiles& files, const std::string& hf_name) {
  const TensorView* t = files.find(hf_name);
  require(t != nullptr, "{}: missing tensor {}", files.path().string(), hf_name);
  std::vector<float> data(static_cast<std::size_t>(t->numel()));
  to_f32(*t, data);
  if (const int heads = permuted_heads(files, hf_name, *t)) unpermute_rope_rows(data, heads, files.config().head_dim, t->shape[1]);
  return data;
}

DecoderWeights load_decoder_weights(const ModelFiles& files, Backend& backend, const WeightProgress& progress,
                                    const std::atomic<bool>* cancel, WeightStorage storage) {
  validate_decoder_tensors(files);
  const ModelConfig& c = files.config();
  const std::vector<RequiredTensor> required = required_tensors(c);
  std::size_t done = 0;
  auto load = [&](const std::string& name) {
    if (cancel != nullptr && cancel->load()) throw Error("loading cancelled");
    const TensorView* t = files.find(name);
    const int64_t rows = t->shape.size() == 2 ? t->shape[0] : 1;
    const int64_t cols = t->shape.back();
    Tensor out;
    if (storage == WeightStorage::Native && t->shape.size() == 2 && dtype_for_storage(t->type)) {
      if (const int heads = permuted_heads(files, name, *t)) {
        std::vector<std::byte> bytes(t->bytes.begin(), t->bytes.end());
        unpermute_rope_rows(bytes, heads, c.head_dim, static_cast<int64_t>(bytes.size()) / rows);
        out = backend.upload_weight(t->type, bytes, rows, cols);
      } else {
        out = backend.upload_weight(t->type, t->bytes, rows, cols, files.keep_alive());
      }
    } else {
      const std::vector<float> data = load_tensor_f32(files, name);
      require_finite(data, files, name);
      out = backend.upload(data, rows, cols);
    }
    if (progress) progress(static_cast<double>(++done) / static_cast<double>(required.size()), name);
    return out;
  };

  DecoderWeights w;
  w.embed_tokens = load("model.embed_tokens.weight");
  w.final_norm = load("model.norm.weight");
  w.lm_head = c.tied_embeddings ? w.embed_tokens : load("lm_head.weight");
  w.layers.resize(static_cast<std::size_t>(c.n_layers));
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights& lw = w.layers[static_cast<std::size_t>(l)];
    lw.input_norm = load(layer_name(l, "input_layernorm.weight"));
    lw.q_proj = load(layer_name(l, "self_attn.q_proj.weight"));
    lw.k_proj = load(layer_name(l, "self_attn.k_proj.weight"));
    lw.v_proj = load(layer_name(l, "self_attn.v_proj.weight"));
    lw.o_proj = load(layer_name(l, "self_attn.o_proj.weight"));
    if (c.attention_bias) {
      lw.q_bias = load(layer_name(l, "self_attn.q_proj.bias"));
      lw.k_bias = load(layer_name(l, "self_attn.k_proj.bias"));
      lw.v_bias = load(layer_name(l, "self_attn.v_proj.bias"));
    }
    if (c.qk_norm) {
      lw.q_norm = load(layer_name(l, "self_attn.q_norm.weight"));
      lw.k_norm = load(layer_name(l, "self_attn.k_norm.weight"));
    }
    lw.post_attention_norm = load(layer_name(l, "post_attention_layernorm.weight"));
    lw.gate_proj = load(layer_name(l, "mlp.gate_proj.weight"));
    lw.up_proj = load(layer_name(l, "mlp.up_proj.weight"));
    lw.down_proj = load(layer_name(l, "mlp.down_proj.weight"));
  }
  return w;
}

}  // namespace flux::engine
