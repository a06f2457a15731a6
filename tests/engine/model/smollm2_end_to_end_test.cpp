// The embedded default model end to end on the CPU: load the real SmolLM2-135M-Instruct GGUF, chat, and check the
// answer and the run report. tools/fetch-demo-model.sh puts the file in models/ (CI runs it before the tests).
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <vector>

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

// --chat renders the model's own Jinja template (tokenizer.chat_template in the GGUF), which for SmolLM2 gives the
// same prompt as the built-in ChatML family did: with its default system prompt, and with the user's.
TEST_F(SmolLM2, ChatPromptComesFromTheModelsJinjaTemplate) {
  ASSERT_NE(engine_, nullptr);
  EXPECT_EQ(engine_->chat_template_source(), "the model's Jinja template");
  const Tokenizer& tok = engine_->tokenizer();
  RunSettings chat;
  chat.chat = true;
  const std::string builtin = apply_chat_template(
      ChatFormat::ChatML, {{"system", "You are a helpful AI assistant named SmolLM, trained by Hugging Face"},
                           {"user", "Hi there"}},
      true);
  std::vector<int32_t> want;
  if (tok.add_bos() && tok.bos_id()) want.push_back(*tok.bos_id());
  for (const int32_t id : tok.encode(builtin, true)) want.push_back(id);
  EXPECT_EQ(engine_->tokenize_prompt("Hi there\n", chat), want);
  chat.system_prompt = "Answer in French.";
  const std::vector<int32_t> with_system = engine_->tokenize_prompt("Hi there", chat);
  EXPECT_NE(tok.decode(with_system).find("Answer in French."), std::string::npos);
  EXPECT_EQ(tok.decode(with_system).find("named SmolLM"), std::string::npos);
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

// Invalid UTF-8 in a prompt is not an error: the bytes are tokenized as given (byte-level BPE covers every byte, as
// HF tokenizers do), the run completes, and its report serializes as valid JSON (nlohmann throws on invalid UTF-8).
TEST_F(SmolLM2, InvalidUtf8PromptRunsAndItsReportSerializes) {
  ASSERT_NE(engine_, nullptr);
  RunRequest request;
  request.prompt = "caf\xc3 \xff\xfe \xed\xa0\x80 ok";
  request.settings.max_new_tokens = 2;
  const RunReport report = engine_->run(request);
  EXPECT_EQ(report.status, "ok");
  EXPECT_GT(report.prompt_tokens, 5);
  EXPECT_EQ(report.tokens.size(), 2u);
  EXPECT_NO_THROW((void)report.to_json().dump());
}

// Cancellation is prompt (docs/reliability.md): the engine checks the flag before every layer, so a cancel that
// lands while layer k is being prefilled stops the run before layer k+1 starts — at most one layer's time. The
// observer sets the flag from inside the prefill of layer 7 (on the engine thread, so the timing is exact).
TEST_F(SmolLM2, CancelDuringPrefillStopsBeforeTheNextLayer) {
  ASSERT_NE(engine_, nullptr);
  constexpr int kCancelAt = 7;
  struct CancelAtLayer : RunObserver {
    std::atomic<bool>* cancel = nullptr;
    std::vector<int> prefilled;
    int tokens = 0;
    void on_layer_prefilled(const LayerReport& layer) override {
      prefilled.push_back(layer.index);
      if (layer.index == kCancelAt) cancel->store(true);
    }
    void on_token(int, const TokenReport&) override { ++tokens; }
  };
  std::atomic<bool> cancel{false};
  CancelAtLayer observer;
  observer.cancel = &cancel;
  RunRequest request;
  request.prompt = "Explain briefly why leaves change colour in autumn.";
  request.settings.max_new_tokens = 4;
  const RunReport report = engine_->run(request, &observer, &cancel);
  EXPECT_EQ(report.status, "cancelled");
  EXPECT_EQ(report.stop_reason, "cancelled");
  EXPECT_EQ(observer.tokens, 0);
  EXPECT_TRUE(report.tokens.empty());
  std::vector<int> expected(kCancelAt + 1);
  for (int i = 0; i <= kCancelAt; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(observer.prefilled, expected);  // layer kCancelAt + 1 never ran
  ASSERT_EQ(report.layers.size(), static_cast<std::size_t>(kCancelAt + 1));
  EXPECT_EQ(report.layers.back().index, kCancelAt);

  // The engine stays usable: the same request without a cancel runs to completion.
  const RunReport again = engine_->run(request);
  EXPECT_EQ(again.status, "ok");
  EXPECT_EQ(again.layers.size(), 30u);
}

}  // namespace
}  // namespace flux::engine
