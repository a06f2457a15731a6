// RoPE scaling from HF config.json (rope_scaling / rope_parameters, `rope_type` or `type`) and from GGUF metadata
// (rope.scaling.* keys, rope_freqs.weight): what is read, HF's defaults, and the errors for what is not supported.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "engine/format/gguf_model_config.h"
#include "engine/format/hf_config.h"
#include "tests/engine/support/error_of.h"
#include "tests/engine/support/gguf_builder.h"

namespace flux::engine {
namespace {

using flux::test::error_of;
using flux::test::GgufBuilder;
using nlohmann::json;

json llama(const json& rope) {
  json j = json::parse(R"({
    "model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "max_position_embeddings": 512,
    "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 2, "head_dim": 16, "vocab_size": 256,
    "rope_theta": 500000.0})");
  if (rope.is_object()) j.update(rope);
  return j;
}

ModelConfig parse(const json& j) {
  return model_config_from_hf_json(j, "config.json");
}

TEST(RopeScalingHf, NullAbsentAndDefaultMeanNone) {
  EXPECT_EQ(parse(llama({})).rope_scaling.type, RopeScalingType::None);
  EXPECT_EQ(parse(llama({{"rope_scaling", nullptr}})).rope_scaling.type, RopeScalingType::None);
  EXPECT_EQ(parse(llama({{"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 1e4}}}})).rope_scaling.type,
            RopeScalingType::None);
}

TEST(RopeScalingHf, Llama31WithTheLegacyTypeKey) {
  const ModelConfig c = parse(llama(json::parse(R"({"rope_scaling": {"type": "llama3", "factor": 8.0,
      "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})")));
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Llama3);
  EXPECT_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_EQ(c.rope_scaling.high_freq_factor, 4.0);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 8192);
  EXPECT_EQ(c.rope_theta, 500000.0f);
}

TEST(RopeScalingHf, YarnInRopeParametersWithHfDefaults) {
  const ModelConfig c = parse(llama(json::parse(R"({"rope_parameters": {"rope_type": "yarn", "factor": 4.0,
      "rope_theta": 1000000.0, "beta_fast": null}})")));
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::Yarn);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 512);  // max_position_embeddings, as HF standardizes
  EXPECT_EQ(c.rope_scaling.beta_fast, 32.0);
  EXPECT_EQ(c.rope_scaling.beta_slow, 1.0);
  EXPECT_FALSE(c.rope_scaling.attention_factor.has_value());
  EXPECT_EQ(c.rope_theta, 1e6f);  // rope_parameters' theta wins
  // A top-level original_max_position_embeddings (Phi-3 style) wins over the dict's; factor defaults to the ratio.
  const ModelConfig d = parse(llama(json::parse(R"({"original_max_position_embeddings": 128, "rope_scaling":
      {"rope_type": "yarn", "original_max_position_embeddings": 64, "attention_factor": 0.9}})")));
  EXPECT_EQ(d.rope_scaling.original_max_position_embeddings, 128);
  EXPECT_EQ(d.rope_scaling.factor, 4.0);
  EXPECT_EQ(d.rope_scaling.attention_factor, 0.9);
}

TEST(RopeScalingHf, LinearAndDynamic) {
  EXPECT_EQ(parse(llama({{"rope_scaling", {{"rope_type", "linear"}, {"factor", 2.0}}}})).rope_scaling.factor, 2.0);
  const ModelConfig d = parse(llama({{"rope_scaling", {{"type", "dynamic"}, {"factor", 2.0}}}}));
  EXPECT_EQ(d.rope_scaling.type, RopeScalingType::Dynamic);
  EXPECT_EQ(d.rope_scaling.original_max_position_embeddings, 512);  // HF grows past max_position_embeddings
}

TEST(RopeScalingHf, UnknownTypeAndMissingFieldsAreErrorsNamingTheKey) {
  const std::string unknown =
      error_of([] { parse(llama({{"rope_scaling", {{"rope_type", "longrope"}, {"factor", 2.0}}}})); });
  EXPECT_ERROR(unknown, "rope_scaling");
  EXPECT_ERROR(unknown, "'longrope'");
  EXPECT_ERROR(unknown, "not supported");
  EXPECT_ERROR(error_of([] { parse(llama({{"rope_parameters", {{"type", "ntk-by-parts"}}}})); }), "rope_parameters");
  EXPECT_ERROR(error_of([] { parse(llama({{"rope_scaling", {{"rope_type", "linear"}}}})); }), "\"factor\"");
  EXPECT_ERROR(error_of([] {
                 parse(llama({{"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0}}}}));
               }),
               "\"high_freq_factor\"");
  EXPECT_ERROR(error_of([] { parse(llama({{"rope_scaling", {{"rope_type", "linear"}, {"factor", "2"}}}})); }),
               "\"factor\" must be a number");
  EXPECT_ERROR(error_of([] { parse(llama({{"rope_scaling", {{"rope_type", "linear"}, {"factor", -2.0}}}})); }),
               "factor = -2");
  EXPECT_ERROR(error_of([] { parse(llama({{"rope_scaling", "llama3"}})); }), "must be an object");
}

TEST(RopeScalingHf, RopeThetaMustBePositiveAndFinite) {
  for (const double bad : {0.0, -1.0, 1e39, std::numeric_limits<double>::infinity()}) {
    json j = llama({});
    j["rope_theta"] = bad;  // nlohmann stores inf as a number (a file cannot spell it; 1e400 parses to inf)
    EXPECT_ERROR(error_of([&] { parse(j); }), "\"rope_theta\"") << bad;
  }
  EXPECT_ERROR(error_of([] { parse(llama({{"rope_parameters", {{"rope_theta", -5.0}}}})); }),
               "rope_parameters.rope_theta");
}

TEST(RopeScalingHf, TheConfigWriterKeepsTheScaling) {
  const ModelConfig c = parse(llama(json::parse(R"({"rope_scaling": {"rope_type": "llama3", "factor": 8.0,
      "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 64}})")));
  const json out = hf_config_json(c);
  EXPECT_EQ(out["rope_parameters"]["rope_type"], "llama3");
  EXPECT_EQ(out["rope_scaling"]["original_max_position_embeddings"], 64);
  const ModelConfig back = parse(out);
  EXPECT_EQ(back.rope_scaling.type, RopeScalingType::Llama3);
  EXPECT_EQ(back.rope_scaling.factor, 8.0);
  EXPECT_TRUE(hf_config_json(parse(llama({})))["rope_scaling"].is_null());
}

GgufBuilder hparams() {
  GgufBuilder b;
  b.add_string("general.architecture", "llama");
  b.add_u32("llama.block_count", 2).add_u32("llama.context_length", 256).add_u32("llama.embedding_length", 64);
  b.add_u32("llama.feed_forward_length", 128).add_u32("llama.attention.head_count", 4);
  b.add_u32("llama.attention.head_count_kv", 2).add_f32("llama.attention.layer_norm_rms_epsilon", 1e-6f);
  b.add_f32("llama.rope.freq_base", 1e4f).add_u32("llama.vocab_size", 256);
  b.add_f32_tensor("blk.0.attn_norm.weight", {64}, std::vector<float>(64));
  return b;
}

TEST(RopeScalingGguf, ScalingKeys) {
  EXPECT_EQ(model_config_from_gguf(GgufFile(hparams().write("rope_none.gguf"))).rope_scaling.type,
            RopeScalingType::None);
  auto linear = hparams();
  linear.add_string("llama.rope.scaling.type", "linear").add_f32("llama.rope.scaling.factor", 4.0f);
  const ModelConfig l = model_config_from_gguf(GgufFile(linear.write("rope_linear.gguf")));
  EXPECT_EQ(l.rope_scaling.type, RopeScalingType::Linear);
  EXPECT_EQ(l.rope_scaling.factor, 4.0);

  auto yarn = hparams();
  yarn.add_string("llama.rope.scaling.type", "yarn").add_f32("llama.rope.scaling.factor", 4.0f);
  yarn.add_u32("llama.rope.scaling.original_context_length", 64).add_f32("llama.rope.scaling.yarn_beta_fast", 16.0f);
  const ModelConfig y = model_config_from_gguf(GgufFile(yarn.write("rope_yarn.gguf")));
  EXPECT_EQ(y.rope_scaling.type, RopeScalingType::Yarn);
  EXPECT_EQ(y.rope_scaling.original_max_position_embeddings, 64);
  EXPECT_EQ(y.rope_scaling.beta_fast, 16.0);
  EXPECT_EQ(y.rope_scaling.beta_slow, 1.0);
}

TEST(RopeScalingGguf, RopeFreqsTensorBecomesPerPairDivisors) {
  auto b = hparams();
  b.add_f32_tensor("rope_freqs.weight", {8}, {1, 1, 1, 1.5f, 3, 8, 8, 8});
  const ModelConfig c = model_config_from_gguf(GgufFile(b.write("rope_freqs.gguf")));
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::FreqFactors);
  EXPECT_EQ(c.rope_scaling.freq_factors, (std::vector<float>{1, 1, 1, 1.5f, 3, 8, 8, 8}));
  auto wrong = hparams();
  wrong.add_f32_tensor("rope_freqs.weight", {4}, {1, 1, 1, 1});
  EXPECT_ERROR(error_of([&] { model_config_from_gguf(GgufFile(wrong.write("rope_freqs_short.gguf"))); }),
               "rope_freqs.weight");
}

TEST(RopeScalingGguf, UnknownTypeAndMissingFactorAreErrorsNamingTheKey) {
  auto unknown = hparams();
  unknown.add_string("llama.rope.scaling.type", "longrope");
  const std::string e = error_of([&] { model_config_from_gguf(GgufFile(unknown.write("rope_unknown.gguf"))); });
  EXPECT_ERROR(e, "llama.rope.scaling.type");
  EXPECT_ERROR(e, "'longrope' is not supported");
  auto no_factor = hparams();
  no_factor.add_string("llama.rope.scaling.type", "linear");
  EXPECT_ERROR(error_of([&] { model_config_from_gguf(GgufFile(no_factor.write("rope_nofactor.gguf"))); }),
               "llama.rope.scaling.factor");
}

}  // namespace
}  // namespace flux::engine
