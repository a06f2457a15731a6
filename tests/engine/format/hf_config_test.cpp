// HF config.json -> ModelConfig for llama/qwen2/qwen3, error cases, and the config.json writer's round trip.
#include "tests/engine/support/error_of.h"
#include "engine/format/hf_config.h"

#include <gtest/gtest.h>

#include <functional>

#include "engine/core/error.h"

namespace flux::engine {
namespace {

using nlohmann::json;

using flux::test::error_of;

// SmolLM2-135M-Instruct's config.json (trimmed).
json smollm2() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu", "hidden_size": 576,
    "intermediate_size": 1536, "max_position_embeddings": 8192, "num_attention_heads": 9, "num_hidden_layers": 30,
    "num_key_value_heads": 3, "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 100000,
    "tie_word_embeddings": true, "torch_dtype": "bfloat16", "vocab_size": 49152, "bos_token_id": 1})");
}

json qwen3() {
  return json::parse(R"({
    "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 1024, "head_dim": 128,
    "intermediate_size": 3072, "max_position_embeddings": 40960, "num_attention_heads": 16, "num_hidden_layers": 28,
    "num_key_value_heads": 8, "rms_norm_eps": 1e-06, "rope_theta": 1000000, "tie_word_embeddings": true,
    "vocab_size": 151936, "attention_bias": false})");
}

TEST(HfConfig, Llama) {
  const ModelConfig c = model_config_from_hf_json(smollm2(), "config.json");
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.n_layers, 30);
  EXPECT_EQ(c.hidden, 576);
  EXPECT_EQ(c.n_heads, 9);
  EXPECT_EQ(c.n_kv_heads, 3);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.ffn_hidden, 1536);
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_EQ(c.context_length, 8192);
  EXPECT_FLOAT_EQ(c.rms_eps, 1e-5f);
  EXPECT_FLOAT_EQ(c.rope_theta, 1e5f);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_FALSE(c.attention_bias);
}

TEST(HfConfig, Qwen3AndQwen2) {
  const ModelConfig c = model_config_from_hf_json(qwen3(), "qwen3/config.json");
  EXPECT_EQ(c.head_dim, 128);  // explicit, not hidden / heads (64)
  EXPECT_TRUE(c.qk_norm);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_FLOAT_EQ(c.rope_theta, 1e6f);
  json q2 = qwen3();
  q2["model_type"] = "qwen2";
  q2.erase("head_dim");
  q2.erase("attention_bias");
  const ModelConfig c2 = model_config_from_hf_json(q2, "qwen2/config.json");
  EXPECT_TRUE(c2.attention_bias);
  EXPECT_FALSE(c2.qk_norm);
  EXPECT_EQ(c2.head_dim, 64);
}

TEST(HfConfig, DefaultsAndTransformers5RopeParameters) {
  json j = smollm2();
  for (const char* k : {"num_key_value_heads", "tie_word_embeddings", "max_position_embeddings", "rope_theta"})
    j.erase(k);
  j["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", 500000.0}};
  const ModelConfig c = model_config_from_hf_json(j, "config.json");
  EXPECT_EQ(c.n_kv_heads, 9);
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_EQ(c.context_length, 2048);
  EXPECT_FLOAT_EQ(c.rope_theta, 5e5f);
}

TEST(HfConfig, ReadsTheTinyTestModels) {
  const ModelConfig llama = model_config_from_hf_file(FLUX_TEST_DATA_DIR "/tiny_llama/config.json");
  EXPECT_EQ(llama.architecture, "llama");
  EXPECT_EQ(llama.head_dim, 16);
  const ModelConfig q3 = model_config_from_hf_file(FLUX_TEST_DATA_DIR "/tiny_qwen3/config.json");
  EXPECT_EQ(q3.architecture, "qwen3");
  EXPECT_TRUE(q3.qk_norm);
}

TEST(HfConfig, Errors) {
  json j = smollm2();
  j["model_type"] = "gemma3";
  EXPECT_ERROR(error_of([&] { model_config_from_hf_json(j, "c.json"); }),
               "c.json: unsupported architecture 'gemma3' (supported: llama, mistral, qwen2, qwen3)");
  j = smollm2();
  j["hidden_size"] = "576";
  EXPECT_ERROR(error_of([&] { model_config_from_hf_json(j, "c.json"); }), "\"hidden_size\" must be an integer");
  j = smollm2();
  j["rms_norm_eps"] = "small";
  EXPECT_ERROR(error_of([&] { model_config_from_hf_json(j, "c.json"); }), "\"rms_norm_eps\" must be a number");
  j = smollm2();
  j["tie_word_embeddings"] = 1;
  EXPECT_ERROR(error_of([&] { model_config_from_hf_json(j, "c.json"); }), "\"tie_word_embeddings\" must be true");
  j = smollm2();
  j.erase("num_hidden_layers");
  EXPECT_ERROR(error_of([&] { model_config_from_hf_json(j, "c.json"); }), "missing required key \"num_hidden_layers\"");
  j = smollm2();
  j["num_key_value_heads"] = 4;
  EXPECT_ERROR(error_of([&] { model_config_from_hf_json(j, "c.json"); }), "not a multiple of num_key_value_heads");
  j = smollm2();
  j["hidden_act"] = "gelu";
  EXPECT_ERROR(error_of([&] { model_config_from_hf_json(j, "c.json"); }), "\"hidden_act\" \"gelu\" is not supported");
  EXPECT_ERROR(error_of([] { model_config_from_hf_json(json::array(), "c.json"); }), "not a JSON object");
  EXPECT_ERROR(error_of([] { model_config_from_hf_file("/nonexistent/config.json"); }),
               "/nonexistent/config.json: cannot open");
}

TEST(HfConfig, WriterRoundTrips) {
  for (const json& src : {smollm2(), qwen3()}) {
    const ModelConfig c = model_config_from_hf_json(src, "src");
    HfConfigExtras extras;
    extras.bos_token_id = 1;
    extras.eos_token_id = 2;
    const json out = hf_config_json(c, extras);
    EXPECT_EQ(out["torch_dtype"], "bfloat16");
    EXPECT_EQ(out["bos_token_id"], 1);
    EXPECT_FALSE(out.contains("pad_token_id"));
    const ModelConfig back = model_config_from_hf_json(out, "out");
    EXPECT_EQ(back.architecture, c.architecture);
    EXPECT_EQ(back.n_layers, c.n_layers);
    EXPECT_EQ(back.head_dim, c.head_dim);
    EXPECT_EQ(back.n_kv_heads, c.n_kv_heads);
    EXPECT_EQ(back.tied_embeddings, c.tied_embeddings);
    EXPECT_EQ(back.qk_norm, c.qk_norm);
    EXPECT_EQ(back.rms_eps, c.rms_eps);
    EXPECT_EQ(back.rope_theta, c.rope_theta);
    EXPECT_EQ(back.context_length, c.context_length);
  }
  const json llama = hf_config_json(model_config_from_hf_json(smollm2(), "src"));
  EXPECT_EQ(llama["architectures"][0], "LlamaForCausalLM");
  EXPECT_EQ(llama["rms_norm_eps"].get<double>(), 1e-5);  // shortest form, not 9.99999974e-06
  EXPECT_EQ(hf_config_json(model_config_from_hf_json(qwen3(), "src"))["architectures"][0], "Qwen3ForCausalLM");
  ModelConfig bad;
  bad.architecture = "mistral";
  EXPECT_ERROR(error_of([&] { hf_config_json(bad); }), "unsupported architecture 'mistral'");
}

// Mistral runs as llama; its sliding window caps the context (full attention within it), null means none.
TEST(HfConfig, MistralSlidingWindow) {
  json j = smollm2();
  j["model_type"] = "mistral";
  j["max_position_embeddings"] = 32768;
  j["sliding_window"] = 4096;
  ModelConfig c = model_config_from_hf_json(j, "mistral/config.json");
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.context_length, 4096);
  j["sliding_window"] = nullptr;
  c = model_config_from_hf_json(j, "mistral/config.json");
  EXPECT_EQ(c.context_length, 32768);
  j["sliding_window"] = -1;
  EXPECT_ERROR(error_of([&] { model_config_from_hf_json(j, "c.json"); }), "\"sliding_window\" = -1 must be >= 0");
  j["model_type"] = "gemma";
  EXPECT_ERROR(error_of([&] { model_config_from_hf_json(j, "c.json"); }), "supported: llama, mistral, qwen2, qwen3");
}

}  // namespace
}  // namespace flux::engine
