// RoPE scaling on the CUDA backend: the tiny scaled Llamas of tests/data/rope_scaling/ (llama3 from HF and from GGUF,
// yarn, linear, dynamic NTK) give the CPU backend's logits at every prompt position and at recorded decode steps
// (CUDA graphs: the step's position, and under dynamic NTK its frequencies, come from the device).
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "tests/engine/support/decoder_run.h"
#include "tests/kernels/bf16_sim_backend.h"
#include "tests/kernels/gpu_test_util.h"

namespace flux::engine {
namespace {

using namespace flux::engine::testing_gpu;

class CudaRopeScaling : public ::testing::TestWithParam<std::string> {};

TEST_P(CudaRopeScaling, LogitsMatchCpuAtEveryPositionAndDecodeStep) {
  FLUX_REQUIRE_GPU();
  const std::string dir = std::string(FLUX_TEST_DATA_DIR) + "/rope_scaling/";
  const std::string path = GetParam();
  std::ifstream golden(dir + path.substr(0, path.find('/')) + "/golden.json");
  const auto j = nlohmann::json::parse(golden);
  const auto prompt = j["prompt"].get<std::vector<int32_t>>();
  const auto feed = j["greedy"].get<std::vector<int32_t>>();
  const ModelFiles files = ModelFiles::open(dir + path);
  ASSERT_NE(files.config().rope_scaling.type, RopeScalingType::None);

  auto run = [&](std::unique_ptr<Backend> backend) {
    Decoder decoder(files.config(), load_decoder_weights(files, *backend), *backend);
    return test::run_greedy(decoder, prompt, static_cast<int>(feed.size()), feed);
  };
  // The bf16-storage CPU simulation: the CUDA backend's own precision, so the bound is tight.
  const test::DecoderRun ref = run(std::make_unique<Bf16SimBackend>());
  const test::DecoderRun gpu = run(make_cuda_backend());
  const double prefill_err = rel_err(gpu.prompt_logits, ref.prompt_logits);
  const double decode_err = rel_err(gpu.step_logits, ref.step_logits);
  EXPECT_LT(prefill_err, 2e-2) << path;
  EXPECT_LT(decode_err, 2e-2) << path << " decode";
  std::cout << "[metric] rope_scaling " << path << " logits_rel_err=" << prefill_err
            << " decode_rel_err=" << decode_err << "\n";
}

INSTANTIATE_TEST_SUITE_P(TinyLlama, CudaRopeScaling,
                         ::testing::Values("llama3", "llama3/tiny_llama3.gguf", "yarn", "linear", "dynamic"));

}  // namespace
}  // namespace flux::engine
