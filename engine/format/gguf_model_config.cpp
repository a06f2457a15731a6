#include "engine/format/gguf_model_config.h"

#include <cstring>
#include <limits>

#include "engine/core/error.h"

namespace flux::engine {
namespace {

constexpr const char* kSupported[] = {"llama", "qwen2", "qwen3"};

int to_int(const GgufFile& f, const std::string& key, int64_t v) {
  require(v >= 0 && v <= std::numeric_limits<int>::max(), "{}: metadata key '{}' = {} is out of range",
          f.path().string(), key, v);
  return static_cast<int>(v);
}

int required_int(const GgufFile& f, const std::string& key) {
  return to_int(f, key, f.get_int(key));
}

std::optional<int> optional_int(const GgufFile& f, const std::string& key) {
  if (auto v = f.find_int(key)) return to_int(f, key, *v);
  return std::nullopt;
}

// llama.cpp's rope.scaling.* keys and the rope_freqs.weight tensor its converter writes for Llama 3.1
// (convert_hf_to_gguf.py: one f32 divisor per pair, applied as theta_i = pos · base^(-2i/d) / rope_freqs[i]).
RopeScaling rope_scaling_from_gguf(const GgufFile& f, const std::string& p, int context_length, int head_dim) {
  const std::string source = f.path().string();
  const std::string type_key = p + "rope.scaling.type";
  const std::string type = f.find_string(type_key).value_or("none");
  auto factor = [&]() {
    const std::optional<double> v = f.find_float(p + "rope.scaling.factor");
    require(v.has_value(), "{}: {} '{}' needs {}rope.scaling.factor", source, type_key, type, p);
    return *v;
  };
  RopeScaling s;
  if (type == "linear") {
    s.type = RopeScalingType::Linear;
    s.factor = factor();
  } else if (type == "yarn") {
    s.type = RopeScalingType::Yarn;
    s.factor = factor();
    s.original_max_position_embeddings =
        optional_int(f, p + "rope.scaling.original_context_length").value_or(context_length);
    s.attention_factor = f.find_float(p + "rope.scaling.attn_factor");
    if (auto v = f.find_float(p + "rope.scaling.yarn_beta_fast"); v && *v != 0.0) s.beta_fast = *v;
    if (auto v = f.find_float(p + "rope.scaling.yarn_beta_slow"); v && *v != 0.0) s.beta_slow = *v;
    if (auto v = f.find_float(p + "rope.scaling.yarn_log_multiplier"))
      require(*v == 0.0, "{}: {}rope.scaling.yarn_log_multiplier = {} is not supported", source, p, *v);
  } else if (type != "none") {
    fail("{}: {} '{}' is not supported (supported: none, linear, yarn; Llama 3.1 scaling comes as rope_freqs.weight)",
         source, type_key, type);
  }
  if (const TensorView* t = f.find_tensor("rope_freqs.weight")) {
    require(s.type == RopeScalingType::None, "{}: rope_freqs.weight together with {} '{}' is not supported", source,
            type_key, type);
    require(t->type == StorageType::F32 && t->numel() == head_dim / 2 &&
                t->bytes.size() == static_cast<std::size_t>(t->numel()) * sizeof(float),
            "{}: rope_freqs.weight must be f32 with head_dim / 2 = {} values", source, head_dim / 2);
    s.type = RopeScalingType::FreqFactors;
    s.freq_factors.resize(static_cast<std::size_t>(t->numel()));
    std::memcpy(s.freq_factors.data(), t->bytes.data(), t->bytes.size());
  }
  return s;
}

}  // namespace

ModelConfig model_config_from_gguf(const GgufFile& f) {
  const std::string source = f.path().string();
  const std::string arch = f.get_string("general.architecture");
  bool supported = false;
  for (const char* a : kSupported) supported = supported || arch == a;
  require(supported, "{}: unsupported architecture '{}' (supported: llama, qwen2, qwen3)", source, arch);
  const std::string p = arch + ".";

  ModelConfig c;
  c.architecture = arch;
  c.name = f.find_string("general.name").value_or("");
  c.n_layers = required_int(f, p + "block_count");
  c.hidden = required_int(f, p + "embedding_length");
  c.ffn_hidden = required_int(f, p + "feed_forward_length");
  c.n_heads = required_int(f, p + "attention.head_count");
  c.n_kv_heads = optional_int(f, p + "attention.head_count_kv").value_or(c.n_heads);
  c.context_length = required_int(f, p + "context_length");
  require(c.n_heads > 0, "{}: {}attention.head_count = {} must be positive", source, p, c.n_heads);
  c.head_dim = optional_int(f, p + "attention.key_length").value_or(c.hidden / c.n_heads);
  if (auto v = optional_int(f, p + "attention.value_length"))
    require(*v == c.head_dim, "{}: {}attention.value_length {} differs from the key length {} (unsupported)", source, p,
            *v, c.head_dim);
  if (auto rot = optional_int(f, p + "rope.dimension_count"))
    require(*rot == c.head_dim, "{}: {}rope.dimension_count {} differs from head_dim {} (partial RoPE is unsupported)",
            source, p, *rot, c.head_dim);
  c.rms_eps = static_cast<float>(f.get_float(p + "attention.layer_norm_rms_epsilon"));
  c.rope_theta = static_cast<float>(f.find_float(p + "rope.freq_base").value_or(10000.0));
  c.rope_scaling = rope_scaling_from_gguf(f, p, c.context_length, c.head_dim);

  if (auto v = optional_int(f, p + "vocab_size")) {
    c.vocab_size = *v;
  } else if (f.has("tokenizer.ggml.tokens")) {
    c.vocab_size = to_int(f, "tokenizer.ggml.tokens", static_cast<int64_t>(f.array_size("tokenizer.ggml.tokens")));
  } else if (const TensorView* embd = f.find_tensor("token_embd.weight"); embd != nullptr && !embd->shape.empty()) {
    c.vocab_size = to_int(f, "token_embd.weight", embd->shape.front());
  }
  c.tied_embeddings = f.find_tensor("output.weight") == nullptr;
  c.qk_norm = f.find_tensor("blk.0.attn_q_norm.weight") != nullptr;
  c.attention_bias = f.find_tensor("blk.0.attn_q.bias") != nullptr;
  validate(c, source);
  return c;
}

bool gguf_rope_permuted(const GgufFile& f) {
  return f.get_string("general.architecture") == "llama";
}

}  // namespace flux::engine
