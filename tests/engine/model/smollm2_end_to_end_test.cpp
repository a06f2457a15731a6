// The embedded default model end to end on the CPU: load the real SmolLM2-135M-Instruct GGUF, chat, and check the
// answer and the run report. tools/fetch-demo-model.sh puts the file in models/ (CI runs it before the tests).
#include <gtest/gtest.h>

#include <filesystem>

#include "engine/core/error.h"
#include "engine/runtime/engine.h"

namespace flux::engine {
namespace {

std::filesystem::path demo_model() {
  return std::filesystem::path(FLUX_SOURCE_DIR) / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf";
}

class SmolLM2 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_TRUE(std::filesystem::exists(demo_model()))
        << demo_model() << " is missing: run tools/fetch-demo-model.sh first";
    // The base model without the shipped router: these tests check plain full attention.
    engine_ = Engine::load(demo_model(), EngineOptions{.backend = "cpu", .default_router = false}).release();
  }
  static void TearDownTestSuite() {
    delete engine_;
    engine_ = nullptr;
  }
  static Engine* engine_;
};
Engine* SmolLM2::engine_ = nullptr;

TEST_F(SmolLM2, GreedyChatAnswersParis) {
  ASSERT_NE(engine_, nullptr);
  RunRequest request;
  request.prompt = "What is the capital of France?";
  request.settings.chat = true;
  request.settings.max_new_tokens = 24;
  const RunReport report = engine_->run(request);
  EXPECT_EQ(report.status, "ok");
  EXPECT_NE(report.output_text.find("Paris"), std::string::npos) << report.output_text;
  ASSERT_EQ(report.layers.size(), 30u);
  for (const auto& l : report.layers) {
    EXPECT_EQ(l.mode, LayerMode::FA);
    EXPECT_GT(l.prefill_ms, 0.0);
    EXPECT_GT(l.kv_bytes, 0u);
  }
  EXPECT_GT(report.summary.ttft_ms, 0.0);
  EXPECT_GT(report.prompt_tokens, 10);
}

TEST_F(SmolLM2, PromptOverTheContextIsAClearError) {
  ASSERT_NE(engine_, nullptr);
  RunRequest request;
  request.prompt.assign(9000 * 4, 'a');
  for (std::size_t i = 0; i < request.prompt.size(); i += 2) request.prompt[i] = ' ';
  try {
    engine_->run(request);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("context"), std::string::npos) << e.what();
  }
}

TEST_F(SmolLM2, EmptyPromptIsAClearError) {
  ASSERT_NE(engine_, nullptr);
  RunRequest request;
  request.prompt = " \n\t ";
  request.settings.chat = true;
  try {
    engine_->run(request);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "the prompt is empty");
  }
}

TEST_F(SmolLM2, CancelledRunReturnsAPartialReport) {
  ASSERT_NE(engine_, nullptr);
  std::atomic<bool> cancel{true};
  RunRequest request;
  request.prompt = "Tell me a story.";
  request.settings.max_new_tokens = 8;
  const RunReport report = engine_->run(request, nullptr, &cancel);
  EXPECT_EQ(report.status, "cancelled");
  EXPECT_TRUE(report.tokens.empty());
}

}  // namespace
}  // namespace flux::engine
