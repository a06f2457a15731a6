// RoPE scaling against HF transformers (tools/golden/make_rope_golden.py): tiny random Llama models with rope_scaling
// llama3, yarn, linear and dynamic over a 160-token prompt, 2.5x their original context. Every prompt position's
// logits must match, from the HF directory and (llama3) from the GGUF with rope_freqs.weight; the greedy
// continuation checks the decode steps, where dynamic NTK's base keeps growing with the position.
#include <gtest/gtest.h>


#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "tests/engine/support/hf_golden.h"
#include "tests/engine/support/decoder_run.h"

namespace flux::engine {
namespace {

using Golden = test::HfGolden;

Golden read_golden(const std::string& name) { return test::read_hf_golden("rope_scaling/" + name + "/golden.json"); }

struct Case {
  std::string name;
  std::string path;  // under tests/data/rope_scaling/
  RopeScalingType type;
};

class RopeScalingGolden : public ::testing::TestWithParam<Case> {};

TEST_P(RopeScalingGolden, EveryPositionAndTheGreedyContinuationMatchTransformers) {
  const Case& c = GetParam();
  const Golden g = read_golden(c.name);
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/rope_scaling/" + c.path);
  ASSERT_EQ(files.config().rope_scaling.type, c.type) << rope_scaling_name(files.config().rope_scaling.type);
  std::unique_ptr<Backend> backend = make_cpu_backend(2);
  Decoder decoder(files.config(), load_decoder_weights(files, *backend), *backend);
  const test::DecoderRun run = test::run_greedy(decoder, g.prompt, static_cast<int>(g.greedy.size()));
  EXPECT_LT(test::relative_error(run.prompt_logits, g.logits), 1e-4) << c.path;
  EXPECT_EQ(run.greedy, g.greedy) << c.path;
}

INSTANTIATE_TEST_SUITE_P(TinyLlama, RopeScalingGolden,
                         ::testing::Values(Case{"llama3", "llama3", RopeScalingType::Llama3},
                                           Case{"llama3", "llama3/tiny_llama3.gguf", RopeScalingType::FreqFactors},
                                           Case{"yarn", "yarn", RopeScalingType::Yarn},
                                           Case{"linear", "linear", RopeScalingType::Linear},
                                           Case{"dynamic", "dynamic", RopeScalingType::Dynamic}),
                         [](const ::testing::TestParamInfo<Case>& p) {
                           return p.param.name + (p.param.path.ends_with(".gguf") ? "_gguf" : "_hf");
                         });

// Ignoring the scaling is visibly wrong past the original context: the guard that the cases above test something.
TEST(RopeScalingGolden, UnscaledRopeDoesNotMatch) {
  const Golden g = read_golden("llama3");
  ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/rope_scaling/llama3");
  ModelConfig config = files.config();
  config.rope_scaling = RopeScaling{};
  std::unique_ptr<Backend> backend = make_cpu_backend(2);
  Decoder decoder(config, load_decoder_weights(files, *backend), *backend);
  const test::DecoderRun run = test::run_greedy(decoder, g.prompt, 1);
  EXPECT_GT(test::relative_error(run.prompt_logits, g.logits), 1e-2);
}

}  // namespace
}  // namespace flux::engine
