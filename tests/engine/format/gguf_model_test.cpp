// ModelConfig and VocabData from GGUF metadata, and the GGUF <-> HF tensor name map.
#include <gtest/gtest.h>

#include <functional>

#include "tests/engine/support/error_of.h"
#include "engine/core/error.h"
#include "engine/format/gguf_model_config.h"
#include "engine/format/gguf_names.h"
#include "engine/format/gguf_vocab.h"
#include "tests/engine/support/gguf_builder.h"

namespace flux::engine {
namespace {

using flux::test::GgufBuilder;

using flux::test::error_of;

GgufBuilder hparams(const std::string& arch) {
  GgufBuilder b;
  b.add_string("general.architecture", arch).add_string("general.name", "Tiny");
  b.add_u32(arch + ".block_count", 2).add_u32(arch + ".context_length", 256).add_u32(arch + ".embedding_length", 64);
  b.add_u32(arch + ".feed_forward_length", 128).add_u32(arch + ".attention.head_count", 4);
  b.add_u32(arch + ".attention.head_count_kv", 2).add_f32(arch + ".attention.layer_norm_rms_epsilon", 1e-6f);
  b.add_f32(arch + ".rope.freq_base", 1e6f);
  return b;
}

TEST(GgufModelConfig, LlamaDefaultsAndTiedEmbeddings) {
  auto b = hparams("llama");
  b.add_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
  const GgufFile f(b.add_f32_tensor("blk.0.attn_norm.weight", {64}, std::vector<float>(64)).write("llama_cfg.gguf"));
  const ModelConfig c = model_config_from_gguf(f);
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.name, "Tiny");
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.hidden, 64);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 16);  // embedding / heads
  EXPECT_EQ(c.ffn_hidden, 128);
  EXPECT_EQ(c.vocab_size, 3);  // from the tokens array
  EXPECT_EQ(c.context_length, 256);
  EXPECT_FLOAT_EQ(c.rms_eps, 1e-6f);
  EXPECT_FLOAT_EQ(c.rope_theta, 1e6f);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_FALSE(c.attention_bias);
  EXPECT_TRUE(gguf_rope_permuted(f));
}

TEST(GgufModelConfig, Qwen3KeyLengthQkNormAndOutput) {
  auto b = hparams("qwen3");
  b.add_u32("qwen3.attention.key_length", 32).add_u32("qwen3.vocab_size", 1000);
  b.add_f32_tensor("blk.0.attn_q_norm.weight", {32}, std::vector<float>(32));
  b.add_f32_tensor("output.weight", {2, 64}, std::vector<float>(128));
  const GgufFile f(b.write("qwen3_cfg.gguf"));
  const ModelConfig c = model_config_from_gguf(f);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_EQ(c.vocab_size, 1000);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.tied_embeddings);
  EXPECT_FALSE(gguf_rope_permuted(f));
}

TEST(GgufModelConfig, Qwen2BiasAndVocabFromEmbedding) {
  auto b = hparams("qwen2");
  b.add_f32_tensor("token_embd.weight", {10, 64}, std::vector<float>(640));
  b.add_f32_tensor("blk.0.attn_q.bias", {64}, std::vector<float>(64));
  const ModelConfig c = model_config_from_gguf(GgufFile(b.write("qwen2_cfg.gguf")));
  EXPECT_EQ(c.vocab_size, 10);
  EXPECT_TRUE(c.attention_bias);
}

TEST(GgufModelConfig, Errors) {
  EXPECT_ERROR(error_of([] { model_config_from_gguf(GgufFile(hparams("gemma3").write("gemma.gguf"))); }),
               "unsupported architecture 'gemma3' (supported: llama, qwen2, qwen3)");
  EXPECT_ERROR(error_of([] { model_config_from_gguf(GgufFile(GgufBuilder().write("noarch.gguf"))); }),
               "missing metadata key 'general.architecture'");
  auto no_layers = GgufBuilder().add_string("general.architecture", "llama");
  EXPECT_ERROR(error_of([&] { model_config_from_gguf(GgufFile(no_layers.write("nolayers.gguf"))); }),
               "missing metadata key 'llama.block_count'");
  // No vocab size anywhere: validate() names the field.
  EXPECT_ERROR(error_of([] { model_config_from_gguf(GgufFile(hparams("llama").write("novocab.gguf"))); }),
               "vocab_size = 0 is out of range");
  auto partial = hparams("llama").add_u32("llama.rope.dimension_count", 8).add_u32("llama.vocab_size", 5);
  EXPECT_ERROR(error_of([&] { model_config_from_gguf(GgufFile(partial.write("partial.gguf"))); }),
               "partial RoPE is unsupported");
  auto wrong = hparams("llama").add_string("llama.vocab_size", "many");
  EXPECT_ERROR(error_of([&] { model_config_from_gguf(GgufFile(wrong.write("wrongtype.gguf"))); }),
               "metadata key 'llama.vocab_size' has type string");
}

GgufBuilder vocab_builder() {
  GgufBuilder b;
  b.add_string("tokenizer.ggml.model", "llama").add_string("tokenizer.ggml.pre", "default");
  b.add_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "▁a", "<0x41>"});
  b.add_f32_array("tokenizer.ggml.scores", {0, 0, 0, -1.5f, -2});
  b.add_i32_array("tokenizer.ggml.token_type", {2, 3, 3, 1, 6});
  b.add_u32("tokenizer.ggml.bos_token_id", 1).add_u32("tokenizer.ggml.eos_token_id", 2);
  b.add_u32("tokenizer.ggml.unknown_token_id", 0).add_bool("tokenizer.ggml.add_bos_token", true);
  b.add_bool("tokenizer.ggml.add_space_prefix", true).add_string("tokenizer.chat_template", "{{ x }}");
  return b;
}

TEST(GgufVocab, SentencePieceVocabulary) {
  const VocabData v = vocab_from_gguf(GgufFile(vocab_builder().write("vocab_spm.gguf")));
  EXPECT_EQ(v.model, "llama");
  EXPECT_EQ(v.pre, "default");
  ASSERT_EQ(v.tokens.size(), 5u);
  EXPECT_EQ(v.tokens[3], "▁a");
  EXPECT_EQ(v.scores[4], -2.0f);
  EXPECT_EQ(v.token_types[0], TokenType::Unknown);
  EXPECT_EQ(v.token_types[4], TokenType::Byte);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.unk_id, 0);
  EXPECT_FALSE(v.pad_id.has_value());
  EXPECT_EQ(v.add_bos, true);
  EXPECT_FALSE(v.add_eos.has_value());
  EXPECT_EQ(v.add_space_prefix, true);
  EXPECT_EQ(v.chat_template, "{{ x }}");
  EXPECT_TRUE(v.merges.empty());
}

TEST(GgufVocab, BpeMergesAndMissingOptionalKeys) {
  GgufBuilder b;
  b.add_string("tokenizer.ggml.model", "gpt2").add_string_array("tokenizer.ggml.tokens", {"a", "b", "ab"});
  b.add_string_array("tokenizer.ggml.merges", {"a b"});
  const VocabData v = vocab_from_gguf(GgufFile(b.write("vocab_bpe.gguf")));
  EXPECT_EQ(v.merges, (std::vector<std::string>{"a b"}));
  EXPECT_EQ(v.pre, "default");
  EXPECT_TRUE(v.scores.empty());
  EXPECT_TRUE(v.token_types.empty());
  EXPECT_FALSE(v.bos_id.has_value());
}

TEST(GgufVocab, Errors) {
  EXPECT_ERROR(error_of([] { vocab_from_gguf(GgufFile(GgufBuilder().write("novocab.gguf"))); }),
               "missing metadata key 'tokenizer.ggml.tokens'");
  EXPECT_ERROR(error_of([] {
                 vocab_from_gguf(GgufFile(GgufBuilder().add_string_array("tokenizer.ggml.tokens", {}).write("e.gguf")));
               }),
               "'tokenizer.ggml.tokens' is empty");
  EXPECT_ERROR(error_of([] {
                 vocab_from_gguf(GgufFile(vocab_builder().add_f32_array("tokenizer.ggml.scores", {1}).write("d.gguf")));
               }),
               "duplicate metadata key");
  GgufBuilder scores;
  scores.add_string_array("tokenizer.ggml.tokens", {"a", "b"}).add_f32_array("tokenizer.ggml.scores", {1});
  EXPECT_ERROR(error_of([&] { vocab_from_gguf(GgufFile(scores.write("s.gguf"))); }),
               "tokenizer.ggml.scores has 1 entries, tokenizer.ggml.tokens has 2");
  GgufBuilder types;
  types.add_string_array("tokenizer.ggml.tokens", {"a"}).add_i32_array("tokenizer.ggml.token_type", {1, 1});
  EXPECT_ERROR(error_of([&] { vocab_from_gguf(GgufFile(types.write("t.gguf"))); }), "token_type has 2 entries");
  GgufBuilder bad_type;
  bad_type.add_string_array("tokenizer.ggml.tokens", {"a"}).add_i32_array("tokenizer.ggml.token_type", {9});
  EXPECT_ERROR(error_of([&] { vocab_from_gguf(GgufFile(bad_type.write("bt.gguf"))); }),
               "token_type[0] = 9 is not a known token type");
  GgufBuilder ids;
  ids.add_string_array("tokenizer.ggml.tokens", {"a", "b"}).add_u32("tokenizer.ggml.eos_token_id", 2);
  EXPECT_ERROR(error_of([&] { vocab_from_gguf(GgufFile(ids.write("ids.gguf"))); }),
               "tokenizer.ggml.eos_token_id = 2 is out of range (vocabulary has 2 tokens)");
}

TEST(GgufNames, GgufToHfAndBack) {
  const std::pair<const char*, const char*> cases[] = {
      {"token_embd.weight", "model.embed_tokens.weight"},
      {"output_norm.weight", "model.norm.weight"},
      {"output.weight", "lm_head.weight"},
      {"blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"},
      {"blk.12.attn_k.weight", "model.layers.12.self_attn.k_proj.weight"},
      {"blk.3.attn_v.bias", "model.layers.3.self_attn.v_proj.bias"},
      {"blk.3.attn_output.weight", "model.layers.3.self_attn.o_proj.weight"},
      {"blk.3.attn_q_norm.weight", "model.layers.3.self_attn.q_norm.weight"},
      {"blk.3.attn_k_norm.weight", "model.layers.3.self_attn.k_norm.weight"},
      {"blk.3.attn_norm.weight", "model.layers.3.input_layernorm.weight"},
      {"blk.3.ffn_norm.weight", "model.layers.3.post_attention_layernorm.weight"},
      {"blk.29.ffn_gate.weight", "model.layers.29.mlp.gate_proj.weight"},
      {"blk.29.ffn_up.weight", "model.layers.29.mlp.up_proj.weight"},
      {"blk.29.ffn_down.weight", "model.layers.29.mlp.down_proj.weight"},
  };
  for (const auto& [gguf, hf] : cases) {
    EXPECT_EQ(hf_name_from_gguf(gguf), hf);
    EXPECT_EQ(gguf_name_from_hf(hf), gguf);
  }
  for (const char* bad : {"blk.x.attn_q.weight", "blk.1.attn_q", "blk..attn_q.weight", "blk.01.attn_q.weight",
                          "blk.1.unknown.weight", "rope_freqs.weight", "", "blk.1.attn_q.scale"})
    EXPECT_FALSE(hf_name_from_gguf(bad).has_value()) << bad;
  EXPECT_FALSE(gguf_name_from_hf("model.layers.1.mlp.act_fn").has_value());
  EXPECT_FALSE(gguf_name_from_hf("blk.0.attn_q.weight").has_value());
}

}  // namespace
}  // namespace flux::engine
