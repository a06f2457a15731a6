// The real demo model (SmolLM2-135M-Instruct Q4_1): layout, ModelConfig, vocabulary and dequantized weights.
// Expected first values come from the Python gguf package (gguf.quants.dequantize) on the same file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "engine/format/gguf_file.h"
#include "engine/format/gguf_model_config.h"
#include "engine/format/gguf_names.h"
#include "engine/format/gguf_vocab.h"
#include "engine/format/tensor_convert.h"

namespace flux::engine {
namespace {

const std::filesystem::path kModel = FLUX_SOURCE_DIR "/models/SmolLM2-135M-Instruct.Q4_1.gguf";

class GgufDemoModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::filesystem::exists(kModel)) file_ = new GgufFile(kModel);
  }
  static void TearDownTestSuite() {
    delete file_;
    file_ = nullptr;
  }
  void SetUp() override {
    // Never skip: a missing model must fail loudly so CI cannot silently lose coverage.
    ASSERT_NE(file_, nullptr) << kModel << " is missing: run tools/fetch-demo-model.sh";
  }
  static GgufFile* file_;
};
GgufFile* GgufDemoModel::file_ = nullptr;

double mean_abs(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) {
    EXPECT_TRUE(std::isfinite(x));
    s += std::abs(x);
  }
  return s / static_cast<double>(v.size());
}

TEST_F(GgufDemoModel, LayoutAndMetadata) {
  const GgufFile& f = *file_;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.tensors().size(), 272u);
  EXPECT_EQ(f.get_string("general.architecture"), "llama");
  EXPECT_TRUE(gguf_rope_permuted(f));
  for (const TensorView& t : f.tensors()) EXPECT_TRUE(hf_name_from_gguf(t.name).has_value()) << t.name;
  const TensorView& embd = f.tensor("token_embd.weight");
  EXPECT_EQ(embd.type, StorageType::Q8_0);
  EXPECT_EQ(embd.shape, (std::vector<int64_t>{49152, 576}));
  EXPECT_EQ(f.tensor("blk.0.ffn_down.weight").shape, (std::vector<int64_t>{576, 1536}));
  EXPECT_EQ(f.tensor("blk.0.attn_k.weight").type, StorageType::Q4_1);
  EXPECT_EQ(f.find_tensor("output.weight"), nullptr);
}

TEST_F(GgufDemoModel, ModelConfig) {
  const ModelConfig c = model_config_from_gguf(*file_);
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.n_layers, 30);
  EXPECT_EQ(c.hidden, 576);
  EXPECT_EQ(c.n_heads, 9);
  EXPECT_EQ(c.n_kv_heads, 3);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.ffn_hidden, 1536);
  EXPECT_EQ(c.vocab_size, 49152);
  EXPECT_EQ(c.context_length, 8192);
  EXPECT_TRUE(c.tied_embeddings);
  EXPECT_FALSE(c.qk_norm);
  EXPECT_FLOAT_EQ(c.rope_theta, 100000.0f);
  EXPECT_FLOAT_EQ(c.rms_eps, 1e-5f);
}

TEST_F(GgufDemoModel, Vocabulary) {
  const VocabData v = vocab_from_gguf(*file_);
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "smollm");
  EXPECT_EQ(v.tokens.size(), 49152u);
  EXPECT_EQ(v.merges.size(), 48900u);
  EXPECT_EQ(v.token_types.size(), 49152u);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.add_bos, false);
  EXPECT_NE(v.chat_template.find("<|im_start|>"), std::string::npos);
}

TEST_F(GgufDemoModel, DequantizesWeights) {
  const TensorView& embd = file_->tensor("token_embd.weight");
  const std::vector<float> e = to_f32(embd);
  EXPECT_NEAR(mean_abs(e), 0.09898, 1e-4);
  EXPECT_FLOAT_EQ(e[0], -0.10654449f);
  EXPECT_FLOAT_EQ(e.back(), -0.04170227f);
  std::vector<float> row(576);
  rows_to_f32(embd, 49151, 1, row);
  EXPECT_EQ(row.back(), e.back());

  const std::vector<float> q = to_f32(file_->tensor("blk.0.attn_q.weight"));
  EXPECT_NEAR(mean_abs(q), 0.19108, 1e-4);
  EXPECT_FLOAT_EQ(q[1], 0.15734863f);
  EXPECT_FLOAT_EQ(q.back(), -0.25585938f);
  const std::vector<float> down = to_f32(file_->tensor("blk.29.ffn_down.weight"));
  EXPECT_NEAR(mean_abs(down), 0.14270, 1e-4);
  EXPECT_NEAR(mean_abs(to_f32(file_->tensor("output_norm.weight"))), 1.8144, 1e-3);
}

}  // namespace
}  // namespace flux::engine
