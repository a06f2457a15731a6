// Layer Router math: pooling modes on hand-made keys and the MLP forward against a straightforward reference.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/backend/backend.h"
#include "engine/routing/layer_router.h"
#include "tests/engine/routing/router_test_util.h"
#include "tests/engine/support/error_of.h"

namespace flux::engine {
namespace {

// keys[t, h, i] = t * 1000 + h * 100 + i, so every pooled value is (mean of t) * 1000 + h * 100 + i.
std::vector<float> ramp_keys(int64_t n, int heads, int d) {
  std::vector<float> k;
  for (int64_t t = 0; t < n; ++t)
    for (int h = 0; h < heads; ++h)
      for (int i = 0; i < d; ++i) k.push_back(static_cast<float>(t * 1000 + h * 100 + i));
  return k;
}

float mean_t_pooled(const RouterConfig& c, int64_t n) {
  const std::vector<float> keys = ramp_keys(n, 2, 3);
  const std::vector<float> p = pool_states(c, keys.data(), n, 2, 3);
  EXPECT_EQ(p.size(), 6u);
  EXPECT_NEAR(p[4] - p[0], 101.0f, 1e-3f);  // head 1, i 1 vs head 0, i 0
  return p[0] / 1000.0f;
}

TEST(RouterPooling, BoundaryMeansFirstAndLastTokens) {
  RouterConfig c;  // boundary 100 + 100
  // Tokens 0..99 and 200..299 of 300: mean t = (49.5 + 249.5) / 2.
  EXPECT_NEAR(mean_t_pooled(c, 300), 149.5f, 1e-3f);
  c.pool_first = 2;
  c.pool_last = 3;
  // n = 10: tokens 0,1 and 7,8,9 → mean 5.0.
  EXPECT_NEAR(mean_t_pooled(c, 10), 5.0f, 1e-4f);
}

TEST(RouterPooling, ShortPromptsPoolAllTokens) {
  RouterConfig c;
  EXPECT_NEAR(mean_t_pooled(c, 199), 99.0f, 1e-3f);
  EXPECT_NEAR(mean_t_pooled(c, 1), 0.0f, 1e-6f);
  c.pool_first = 2;
  c.pool_last = 3;
  EXPECT_NEAR(mean_t_pooled(c, 4), 1.5f, 1e-5f);  // 4 < 2 + 3
  EXPECT_NEAR(mean_t_pooled(c, 5), 2.0f, 1e-5f);  // exactly first + last: all
}

TEST(RouterPooling, AllFirstTokenAndLast) {
  RouterConfig c;
  c.pooling = "all";
  EXPECT_NEAR(mean_t_pooled(c, 300), 149.5f, 1e-3f);
  EXPECT_NEAR(mean_t_pooled(c, 301), 150.0f, 1e-3f);
  c.pooling = "first_token";
  EXPECT_NEAR(mean_t_pooled(c, 300), 0.0f, 1e-6f);
  c.pooling = "last";
  c.pool_last = 4;
  EXPECT_NEAR(mean_t_pooled(c, 10), 7.5f, 1e-5f);
  const std::vector<RowRange> r = pooling_rows(c, 10);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].begin, 6);
}

// Straightforward reference: y = W x + b row by row, SiLU written out.
std::vector<double> ref_linear(const RouterLinear& l, const std::vector<double>& x, bool silu) {
  std::vector<double> y;
  for (int o = 0; o < l.out; ++o) {
    double s = l.bias[static_cast<std::size_t>(o)];
    for (int i = 0; i < l.in; ++i)
      s += l.weight[static_cast<std::size_t>(o * l.in + i)] * x[static_cast<std::size_t>(i)];
    y.push_back(silu ? s / (1.0 + std::exp(-s)) : s);
  }
  return y;
}

TEST(LayerRouter, ForwardMatchesReference) {
  const int heads = 2, d = 8;
  const LayerRouter router = test::make_router(2, heads, d);
  uint32_t seed = 99;
  const int64_t n = 5;
  const std::vector<float> keys = test::lcg_values(static_cast<std::size_t>(n * heads * d), seed, 2.0f);
  for (int layer = 0; layer < 2; ++layer) {
    const RouterLayerWeights& w = router.layers()[static_cast<std::size_t>(layer)];
    double sum = 0.0;
    for (int h = 0; h < heads; ++h) {
      std::vector<double> p(d, 0.0);
      for (int64_t t = 0; t < n; ++t)
        for (int i = 0; i < d; ++i)
          p[static_cast<std::size_t>(i)] += keys[static_cast<std::size_t>((t * heads + h) * d + i)] / n;
      const auto feat = ref_linear(w.feat2, ref_linear(w.feat0, p, true), false);
      const auto hid = ref_linear(w.head2, ref_linear(w.head0, feat, true), true);
      sum += ref_linear(w.head4, hid, false)[0];
    }
    const double logit = sum / heads;
    const RouterDecision dec = router.decide(layer, keys.data(), n, heads, d);
    EXPECT_NEAR(dec.logit, logit, 1e-5);
    EXPECT_NEAR(dec.score.prob, 1.0 / (1.0 + std::exp(-logit)), 1e-6);
    EXPECT_EQ(dec.mode, dec.score.prob > 0.5 ? LayerMode::SA : LayerMode::FA);
  }
}

// The backend's pooled_mlp (what Session runs: the CUDA backend on its device, the CPU backend through the default)
// gives the per-head logits that decide() reaches from host keys.
TEST(LayerRouter, BackendPooledMlpMatchesDecide) {
  const int heads = 3, d = 8;
  const int64_t n = 250;  // boundary pooling of 100 + 100 of 250 rows: two ranges
  const LayerRouter router = test::make_router(2, heads, d);
  uint32_t seed = 5;
  const std::vector<float> keys = test::lcg_values(static_cast<std::size_t>(n * heads * d), seed, 2.0f);
  const auto backend = make_cpu_backend(1);
  const Tensor t = backend->upload(keys, n, int64_t{heads} * d);
  const std::vector<RowRange> ranges = pooling_rows(router.config(), n);
  ASSERT_EQ(ranges.size(), 2u);
  for (int layer = 0; layer < 2; ++layer) {
    const Backend::PooledMlp logits = backend->pooled_mlp(t, ranges, router.mlp(layer));
    ASSERT_EQ(logits.out.size(), static_cast<std::size_t>(heads));
    EXPECT_GE(logits.compute_ms, 0.0);
    EXPECT_NEAR(router.decide_logits(logits.out).logit, router.decide(layer, keys.data(), n, heads, d).logit, 1e-5);
  }
  const Tensor odd = backend->upload(std::vector<float>(10, 1.0f), 1, 10);
  EXPECT_ERROR(test::error_of([&] { backend->pooled_mlp(odd, ranges, router.mlp(0)); }), "pooled_mlp");
  EXPECT_ERROR(test::error_of([&] { router.decide_logits({}); }), "no head logits");
}

TEST(LayerRouter, ForcedBiasAndThreshold) {
  LayerRouter router = test::make_router(2, 1, 4, {2.0f, -2.0f});
  const std::vector<float> keys(12, 1.0f);
  EXPECT_EQ(router.decide(0, keys.data(), 3, 1, 4).mode, LayerMode::SA);
  EXPECT_EQ(router.decide(1, keys.data(), 3, 1, 4).mode, LayerMode::FA);
  EXPECT_NEAR(router.decide(0, keys.data(), 3, 1, 4).logit, 2.0f, 1e-6f);
  router.config().threshold = 0.95f;  // sigmoid(2) = 0.88
  EXPECT_EQ(router.decide(0, keys.data(), 3, 1, 4).mode, LayerMode::FA);
  router.config().temperature = 0.5f;  // sigmoid(4) = 0.982
  EXPECT_EQ(router.decide(0, keys.data(), 3, 1, 4).mode, LayerMode::SA);
  EXPECT_ERROR(test::error_of([&] { router.decide(0, keys.data(), 3, 1, 8); }), "head_dim");
  EXPECT_ERROR(test::error_of([&] { router.decide(5, keys.data(), 3, 1, 4); }), "layer 5");
}

TEST(LayerRouter, ConstructorValidatesShapes) {
  RouterConfig c;
  c.n_layers = 1;
  c.head_dim = 4;
  uint32_t s = 1;
  RouterLayerWeights w = test::make_layer(4, s, 0.1f);
  w.head4 = test::make_linear(4, 2, s, 0.1f);
  EXPECT_ERROR(test::error_of([&] { LayerRouter(c, {w}); }), "head.4");
  c.pooling = "middle";
  EXPECT_ERROR(test::error_of([&] { LayerRouter(c, {test::make_layer(4, s, 0.1f)}); }), "pooling");
}

}  // namespace
}  // namespace flux::engine
