// An HF folder with model_type mistral (tiny_llama's weights, a Mistral config.json with a sliding window) loads as
// llama with its context capped at the window, and computes exactly what the llama folder computes within it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/routing/route_spec.h"
#include "engine/runtime/session.h"

namespace flux::engine {
namespace {

std::vector<float> prefill_logits(const ModelFiles& files, Backend& backend, const std::vector<int32_t>& prompt) {
  Decoder decoder(files.config(), load_decoder_weights(files, backend, {}, nullptr, WeightStorage::F32), backend);
  Session session(decoder, static_cast<int64_t>(prompt.size()) + 1);
  return session.prefill_all_logits(prompt, make_preset_plan("fa", files.config().n_layers, AttentionPlan{}));
}

TEST(MistralFolder, LoadsAsLlamaWithinItsSlidingWindow) {
  const std::filesystem::path llama = std::filesystem::path(FLUX_TEST_DATA_DIR) / "tiny_llama";
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "flux_mistral_folder_test";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(llama / "model.safetensors", dir / "model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  nlohmann::json config = nlohmann::json::parse(std::ifstream(llama / "config.json"));
  config["model_type"] = "mistral";
  config["architectures"] = {"MistralForCausalLM"};
  config["sliding_window"] = 64;
  std::ofstream(dir / "config.json") << config.dump();

  const ModelFiles mistral = ModelFiles::open(dir);
  const ModelFiles reference = ModelFiles::open(llama);
  EXPECT_EQ(mistral.config().architecture, "llama");
  EXPECT_EQ(mistral.config().context_length, 64);  // max_position_embeddings 512, window 64
  EXPECT_EQ(reference.config().context_length, 512);

  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> token(0, reference.config().vocab_size - 1);
  std::vector<int32_t> prompt(40);
  for (auto& t : prompt) t = token(rng);
  auto backend = make_cpu_backend(1);
  EXPECT_EQ(prefill_logits(mistral, *backend, prompt), prefill_logits(reference, *backend, prompt));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace flux::engine
