// NaN or Inf weights used to run to the end with status ok and NUL bytes for text. Now the loader refuses its fp32
// copies by tensor name, and a run whose prompt logits are not finite (weights kept as stored) fails by name.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/runtime/engine.h"
#include "tests/engine/support/error_of.h"
#include "tests/engine/support/gguf_builder.h"

namespace flux::engine {
namespace {

namespace fs = std::filesystem;
using flux::test::error_of;

// A copy of `src` whose tensor `name` starts with the bytes of `value` (for a block-quantized tensor: the first
// block's scale, when value is a uint16_t half).
template <typename T>
fs::path copy_with(const fs::path& src, const std::string& name, T value, const std::string& file) {
  const fs::path path = flux::test::test_temp_dir() / file;
  fs::copy_file(src, path, fs::copy_options::overwrite_existing);
  std::size_t offset = 0;
  {
    const ModelFiles files = ModelFiles::open(path);
    const TensorView* t = files.find(name);
    EXPECT_NE(t, nullptr) << name;
    offset = static_cast<std::size_t>(t->bytes.data() - files.mapped_files().at(0)->bytes().data());
  }
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(reinterpret_cast<const char*>(&value), sizeof value);
  return path;
}

fs::path tiny_with(const std::string& name, float value, const std::string& file) {
  return copy_with(fs::path(FLUX_TEST_DATA_DIR) / "tiny_llama/tiny_llama.gguf", name, value, file);
}

std::string load_weights(const fs::path& path, WeightStorage storage) {
  return error_of([&] {
    auto backend = make_cpu_backend(1);
    (void)load_decoder_weights(ModelFiles::open(path), *backend, {}, nullptr, storage);
  });
}

std::string load_and_run(const fs::path& path) {
  return error_of([&] {
    EngineOptions options;
    options.backend = "cpu";
    options.threads = 2;
    const auto engine = Engine::load(path, options);
    RunRequest request;
    request.prompt_tokens = {1, 17, 42, 99, 3};
    request.settings.max_new_tokens = 2;
    (void)engine->run(request);
  });
}

TEST(NonFiniteWeights, TheLoaderNamesANormHoldingNaN) {
  const std::string name = "model.layers.1.input_layernorm.weight";
  const std::string e =
      load_weights(tiny_with(name, std::numeric_limits<float>::quiet_NaN(), "nan_norm.gguf"), WeightStorage::Native);
  EXPECT_ERROR(e, "tensor " + name + " holds NaN at element 0: the file's weights are damaged");
}

TEST(NonFiniteWeights, TheFp32ReferenceNamesAMatrixHoldingInf) {
  const std::string name = "model.layers.0.mlp.down_proj.weight";
  const std::string e =
      load_weights(tiny_with(name, std::numeric_limits<float>::infinity(), "inf_down.gguf"), WeightStorage::F32);
  EXPECT_ERROR(e, "tensor " + name + " holds Inf at element 0");
}

TEST(NonFiniteWeights, TheUntouchedCopyLoads) {
  EXPECT_EQ(load_weights(tiny_with("model.norm.weight", 1.0f, "clean.gguf"), WeightStorage::F32), "(no error)");
}

// The demo model's Q4_1 q_proj is kept in place (as stored): a NaN block scale shows in the logits.
TEST(NonFiniteWeights, AMatrixKeptAsStoredFailsAttentionSayingWhy) {
  const fs::path demo = fs::path(FLUX_SOURCE_DIR) / "models/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!fs::exists(demo)) GTEST_SKIP() << "demo model not present";
  const uint16_t half_nan = 0x7E00;
  const std::string e =
      load_and_run(copy_with(demo, "model.layers.0.self_attn.q_proj.weight", half_nan, "nan_q.gguf"));
  EXPECT_ERROR(e, "NaN/Inf queries or keys: the model's weights hold non-finite values");
}

// The tied embedding (lm_head) with a NaN block scale in row 0: only the logits show it, and the run fails by them.
TEST(NonFiniteWeights, NonFiniteLogitsFailTheRun) {
  const fs::path demo = fs::path(FLUX_SOURCE_DIR) / "models/SmolLM2-135M-Instruct.Q4_1.gguf";
  if (!fs::exists(demo)) GTEST_SKIP() << "demo model not present";
  const uint16_t half_nan = 0x7E00;
  const std::string e = load_and_run(copy_with(demo, "model.embed_tokens.weight", half_nan, "nan_embed.gguf"));
  EXPECT_ERROR(e, "the prompt's logits are NaN after prefill");
}

}  // namespace
}  // namespace flux::engine
