// Session::prefill_target_logprobs (the perplexity path) on tiny_llama: the per-target log p equals a log-softmax of
// prefill_all_logits computed here, for an all-FA route and a router route with SA layers, with a block size that
// does not divide the scored rows; the router's decisions still reach the layer reports; bad arguments are errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/routing/route_spec.h"
#include "engine/runtime/session.h"
#include "tests/engine/routing/router_test_util.h"

namespace flux::engine {
namespace {

struct Tiny {
  std::unique_ptr<Backend> backend = make_cpu_backend(2);
  std::unique_ptr<Decoder> decoder;
  Tiny() {
    const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/tiny_llama");
    decoder = std::make_unique<Decoder>(files.config(), load_decoder_weights(files, *backend), *backend);
  }
};

std::vector<int32_t> test_tokens(int n) {
  std::vector<int32_t> tokens;
  for (int i = 0; i < n; ++i) tokens.push_back((i * 7 + 3) % 256);
  return tokens;
}

// log p(tokens[k] | tokens[0..k)) from the full [n, vocab] logits, written from the definition.
std::vector<double> reference_logprobs(Tiny& t, const LayerRouter* router, const RoutingPlan& plan,
                                       const std::vector<int32_t>& tokens, int64_t first_target) {
  Session session(*t.decoder, 512);
  session.set_router(router);
  const std::vector<float> logits = session.prefill_all_logits(tokens, plan);
  const int vocab = t.decoder->config().vocab_size;
  std::vector<double> out;
  for (std::size_t k = static_cast<std::size_t>(first_target); k < tokens.size(); ++k) {
    const float* row = logits.data() + (k - 1) * static_cast<std::size_t>(vocab);
    double sum = 0.0;
    for (int v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(row[v]));
    out.push_back(static_cast<double>(row[tokens[k]]) - std::log(sum));
  }
  return out;
}

void expect_equal_logprobs(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_LT(got[i], 0.0) << i;
    EXPECT_NEAR(got[i], want[i], 1e-4) << i;
  }
}

TEST(TargetLogprobs, EqualLogSoftmaxOfAllLogitsForTwoRoutes) {
  Tiny t;
  const LayerRouter router = test::make_router(3, 2, 16, {4.0f, -4.0f, 1.0f});  // layers 0 and 2 SA
  const std::vector<int32_t> tokens = test_tokens(250);
  std::vector<double> fa_logprobs;
  for (const char* spec : {"fa", "router sink=16 window=32 block=16"}) {
    SCOPED_TRACE(spec);
    const RoutingPlan plan = resolve(parse_route_spec(spec), 3, route_defaults(&router));
    const std::vector<double> want = reference_logprobs(t, &router, plan, tokens, 1);
    Session session(*t.decoder, 512);
    session.set_router(&router);
    std::vector<LayerMode> modes;
    const std::vector<double> got = session.prefill_target_logprobs(
        tokens, plan, 1, [&](const LayerReport& r) { modes.push_back(r.mode); }, 37);
    expect_equal_logprobs(got, want);
    const std::vector<LayerMode> expected = std::string(spec) == "fa"
                                                ? std::vector<LayerMode>(3, LayerMode::FA)
                                                : std::vector<LayerMode>{LayerMode::SA, LayerMode::FA, LayerMode::SA};
    EXPECT_EQ(modes, expected);
    if (fa_logprobs.empty())
      fa_logprobs = got;
    else
      EXPECT_NE(got, fa_logprobs);  // the SA layers (window 32 of 250 tokens) change the scores
  }
}

TEST(TargetLogprobs, FirstTargetSkipsTheFirstHalf) {
  Tiny t;
  const std::vector<int32_t> tokens = test_tokens(120);
  const RoutingPlan plan = resolve(parse_route_spec("sa sink=16 window=32 block=16"), 3, route_defaults(nullptr));
  const std::vector<double> want = reference_logprobs(t, nullptr, plan, tokens, 60);
  Session session(*t.decoder, 512);
  expect_equal_logprobs(session.prefill_target_logprobs(tokens, plan, 60, {}, 256), want);
}

TEST(TargetLogprobs, BadArgumentsAreErrors) {
  Tiny t;
  const std::vector<int32_t> tokens = test_tokens(10);
  const RoutingPlan plan = resolve(parse_route_spec("fa"), 3, route_defaults(nullptr));
  for (int64_t first : {int64_t{0}, int64_t{10}}) {
    Session session(*t.decoder, 512);
    EXPECT_THROW(session.prefill_target_logprobs(tokens, plan, first), Error) << first;
  }
  Session session(*t.decoder, 512);
  EXPECT_THROW(session.prefill_target_logprobs(tokens, plan, 1, {}, 0), Error);
  std::vector<int32_t> bad = tokens;
  bad.back() = t.decoder->config().vocab_size;
  Session other(*t.decoder, 512);
  EXPECT_THROW(other.prefill_target_logprobs(bad, plan, 1), Error);
}

}  // namespace
}  // namespace flux::engine
