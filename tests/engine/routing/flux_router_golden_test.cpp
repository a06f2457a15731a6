// Flux-exact routing: checkpoints in the authors' layout (tools/golden/make_flux_router_golden.py, which runs the
// authors' own AttentionRouter class) load with no router file, and the CPU engine reproduces every layer's router
// logits (relative error <= 1e-4) and every decision, for softmax and sigmoid heads, pool sizes 100 and 150, and
// prompts shorter than, between and longer than 2 * pool_size.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/backend/cpu_backend.h"
#include "tests/engine/support/flux_router_golden.h"

namespace flux::engine {
namespace {

using test::read_json_file;

class FluxRouterGolden : public ::testing::TestWithParam<std::string> {};

TEST_P(FluxRouterGolden, LogitsAndDecisionsMatchTheAuthorsRouter) {
  const test::FluxGoldenCase c = test::load_flux_golden(GetParam());
  ASSERT_TRUE(c.router.has_value());
  EXPECT_EQ(c.router->family(), RouterFamily::Flux);
  EXPECT_EQ(c.router->softmax_head(), c.golden["use_softmax"].get<bool>());
  EXPECT_EQ(c.router->config().pool_first, c.golden["pool_size"].get<int>());
  EXPECT_EQ(c.router->config().sa_kind, c.golden["toggle_type"].get<std::string>());
  EXPECT_EQ(c.router->config().decode, "reference");

  CpuBackend backend(1);
  int checked = 0, fa = 0;
  test::check_golden_layers(c, backend, [&](const std::string& where, const LayerReport& got,
                                            const nlohmann::json& want) {
    const std::vector<float> logits = want["logits"].get<std::vector<float>>();
    for (std::size_t i = 0; i < logits.size(); ++i) {
      const double err = std::abs(double(got.router_logits[i]) - logits[i]);
      EXPECT_LE(err, 1e-4 * std::max(1.0, std::abs(double(logits[i])))) << where << " logit " << i;
    }
    const LayerMode expected = want["fa"].get<bool>() ? LayerMode::FA : LayerMode::SA;
    EXPECT_EQ(got.mode, expected) << where;
    EXPECT_EQ(got.source, DecisionSource::Router) << where;
    ASSERT_TRUE(got.router_score.has_value());
    EXPECT_EQ(got.router_score->side, LayerMode::FA);
    EXPECT_EQ(got.attention, expected == LayerMode::FA ? "full" : c.golden["toggle_type"].get<std::string>());
    fa += expected == LayerMode::FA;
    ++checked;
  });
  EXPECT_EQ(checked, 9);  // 3 prompts x 3 layers
  // The data must exercise both outcomes somewhere, or a router stuck on one side would pass.
  RecordProperty("fa_decisions", fa);
}

INSTANTIATE_TEST_SUITE_P(Cases, FluxRouterGolden, ::testing::ValuesIn(test::kFluxGoldenCases));

// The authors' config keys: unsupported values are errors naming the key, never silently ignored.
TEST(FluxCheckpointConfig, UnsupportedKeysAreNamed) {
  const std::string dir = std::string(FLUX_TEST_DATA_DIR) + "/flux_router/qwen3_softmax_p100";
  const nlohmann::json good = read_json_file(dir + "/config.json");
  const ModelFiles files = ModelFiles::open(dir);
  auto error_with = [&](const char* key, const nlohmann::json& value) {
    nlohmann::json c = good;
    if (value.is_null()) c.erase(key); else c[key] = value;
    try {
      router_from_checkpoint(files, &c);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_with("use_softmax", false).find("use_softmax = false"), std::string::npos);
  EXPECT_NE(error_with("pooling_mode", nullptr).find("pooling_mode = 'first_token' (the config class default"),
            std::string::npos);
  EXPECT_NE(error_with("toggle_type", "topk").find("toggle_type = 'topk'"), std::string::npos);
  EXPECT_NE(error_with("retrieval_mode", "topk").find("retrieval_mode = 'topk'"), std::string::npos);
  EXPECT_NE(error_with("pool_size", 0).find("pool_size = 0"), std::string::npos);
  // block_size is XAttention's granularity in their code (streaming stays 128): ignored without XAttention.
  nlohmann::json unused_block = good;
  unused_block["block_size"] = 64;
  const LayerRouter unused = *router_from_checkpoint(files, &unused_block);
  EXPECT_EQ(route_defaults(&unused).sparse.block, 128);
  nlohmann::json xattn_block = good;
  xattn_block["retrieval_mode"] = "xattn";
  EXPECT_NE(error_with("block_size", 64).find("no error"), std::string::npos);
  xattn_block["block_size"] = 64;
  try {
    router_from_checkpoint(files, &xattn_block);
    ADD_FAILURE() << "block_size 64 with XAttention was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("block_size = 64"), std::string::npos) << e.what();
  }
  nlohmann::json xs = good;
  xs["retrieval_mode"] = "xattn";  // xattn_streaming: XAttention prefill on the FA side
  const LayerRouter r = *router_from_checkpoint(files, &xs);
  const RouteDefaults d = route_defaults(&r);
  EXPECT_EQ(d.dense.mode, AttentionMode::XAttention);
  EXPECT_EQ(d.sparse.mode, AttentionMode::Streaming);
  EXPECT_EQ(d.decode, DecodeMode::Reference);
  EXPECT_NE(describe_router(r.config(), r.softmax_head()).find("FA iff P(FA) > 0.5"), std::string::npos);
}

// Across all cases, both decisions occur (checked on the golden files themselves).
TEST(FluxRouterGoldenData, BothDecisionsOccur) {
  int fa = 0, sa = 0;
  for (const std::string& c : test::kFluxGoldenCases) {
    const nlohmann::json g = read_json_file(std::string(FLUX_TEST_DATA_DIR) + "/flux_router/" + c + "/golden.json");
    for (const auto& p : g["prompts"])
      for (const auto& l : p["layers"]) (l["fa"].get<bool>() ? fa : sa) += 1;
  }
  EXPECT_GT(fa, 0);
  EXPECT_GT(sa, 0);
}

}  // namespace
}  // namespace flux::engine
