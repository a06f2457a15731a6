#include "engine/model/random_weights.h"

#include <cctype>
#include <cmath>

#include "engine/backend/random_fill.h"
#include "engine/core/error.h"

namespace flux::engine {
namespace {

ModelConfig qwen3_8b() {
  ModelConfig c;
  c.architecture = "qwen3";
  c.n_layers = 36;
  c.hidden = 4096;
  c.n_heads = 32;
  c.n_kv_heads = 8;
  c.head_dim = 128;
  c.ffn_hidden = 12288;
  c.vocab_size = 151936;
  c.context_length = 131072;  // the checkpoint says 40960 (YaRN to 128K); benchmarks need 128K
  c.rms_eps = 1e-6f;
  c.rope_theta = 1e6f;
  c.qk_norm = true;
  return c;
}

ModelConfig llama31_8b() {
  ModelConfig c;
  c.architecture = "llama";
  c.n_layers = 32;
  c.hidden = 4096;
  c.n_heads = 32;
  c.n_kv_heads = 8;
  c.head_dim = 128;
  c.ffn_hidden = 14336;
  c.vocab_size = 128256;
  c.context_length = 131072;
  c.rms_eps = 1e-5f;
  c.rope_theta = 5e5f;  // the llama3 frequency rescaling is not modelled: it changes values, not time
  return c;
}

ModelConfig smollm2_135m() {  // the demo model's shape
  ModelConfig c;
  c.architecture = "llama";
  c.n_layers = 30;
  c.hidden = 576;
  c.n_heads = 9;
  c.n_kv_heads = 3;
  c.head_dim = 64;
  c.ffn_hidden = 1536;
  c.vocab_size = 49152;
  c.context_length = 8192;
  c.rms_eps = 1e-5f;
  c.rope_theta = 100000.0f;
  c.tied_embeddings = true;
  return c;
}

}  // namespace

std::vector<std::string> random_weight_presets() {
  return {"qwen3-8b", "llama3.1-8b", "smollm2-135m"};
}

ModelConfig random_preset_config(std::string_view preset) {
  ModelConfig c;
  if (preset == "qwen3-8b")
    c = qwen3_8b();
  else if (preset == "llama3.1-8b")
    c = llama31_8b();
  else if (preset == "smollm2-135m")
    c = smollm2_135m();
  else
    fail("unknown random-weight preset '{}' (use qwen3-8b, llama3.1-8b or smollm2-135m)", preset);
  c.name = "random weights (" + std::string(preset) + ")";
  validate(c, c.name);
  return c;
}

StorageType random_matrix_type(std::string_view name) {
  if (name.empty() || name == "f32") return StorageType::F32;
  for (StorageType t : {StorageType::Q4_0, StorageType::Q4_1, StorageType::Q5_0, StorageType::Q5_1, StorageType::Q8_0,
                        StorageType::Q4_K, StorageType::Q5_K, StorageType::Q6_K, StorageType::F16, StorageType::BF16}) {
    std::string lower = storage_type_name(t);
    for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == name) return t;
  }
  fail("random weights cannot be stored as '{}' (use q4_0, q4_1, q5_0, q5_1, q8_0, q4_k, q5_k, q6_k, f16 or bf16)",
       name);
}

DecoderWeights make_random_weights(const ModelConfig& c, Backend& backend, uint64_t seed, StorageType matrices) {
  // Uniform on [-a, a) has std a / sqrt(3): a = 0.02 * sqrt(3) gives HF's initializer_range 0.02.
  const float scale = 0.02f * std::sqrt(3.0f);
  uint64_t ordinal = 0;
  auto weight = [&](int64_t rows, int64_t cols) {
    return backend.random_weight(rows, cols, scale, mix64(seed + ++ordinal), matrices);
  };
  auto vector = [&](int64_t n) { return backend.random(1, n, scale, mix64(seed + ++ordinal)); };
  auto ones = [&](int64_t n) {
    const std::vector<float> host(static_cast<std::size_t>(n), 1.0f);
    return backend.upload(host, 1, n);
  };
  DecoderWeights w;
  w.embed_tokens = weight(c.vocab_size, c.hidden);
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights L;
    L.input_norm = ones(c.hidden);
    L.q_proj = weight(c.q_dim(), c.hidden);
    L.k_proj = weight(c.kv_dim(), c.hidden);
    L.v_proj = weight(c.kv_dim(), c.hidden);
    L.o_proj = weight(c.hidden, c.q_dim());
    if (c.attention_bias) {
      L.q_bias = vector(c.q_dim());
      L.k_bias = vector(c.kv_dim());
      L.v_bias = vector(c.kv_dim());
    }
    if (c.qk_norm) {
      L.q_norm = ones(c.head_dim);
      L.k_norm = ones(c.head_dim);
    }
    L.post_attention_norm = ones(c.hidden);
    L.gate_proj = weight(c.ffn_hidden, c.hidden);
    L.up_proj = weight(c.ffn_hidden, c.hidden);
    L.down_proj = weight(c.hidden, c.ffn_hidden);
    w.layers.push_back(std::move(L));
  }
  w.final_norm = ones(c.hidden);
  w.lm_head = c.tied_embeddings ? w.embed_tokens : weight(c.vocab_size, c.hidden);
  return w;
}

int64_t parameter_count(const ModelConfig& c) {
  const int64_t h = c.hidden, q = c.q_dim(), kv = c.kv_dim(), f = c.ffn_hidden, v = c.vocab_size;
  int64_t layer = 2 * h + h * q + 2 * h * kv + q * h + 3 * h * f;
  if (c.qk_norm) layer += 2 * int64_t{c.head_dim};
  if (c.attention_bias) layer += q + 2 * kv;
  return v * h * (c.tied_embeddings ? 1 : 2) + h + layer * c.n_layers;
}

}  // namespace flux::engine
