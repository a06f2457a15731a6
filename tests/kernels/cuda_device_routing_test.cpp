// Routing with no host round trip (Backend::route_on_device, kernels/cuda_routing.cpp): the prefill routed on the
// device must take the host path's decisions and give its results. Both run on CUDA (FLUX_DEVICE_ROUTING=0 makes a
// backend decide on the host), on the authors' Flux checkpoints (softmax and sigmoid heads) and an Elastic router;
// per-layer thresholds of 0 and 1 force both decisions through the device rule, so both gated plans run.
#include <gtest/gtest.h>

#include <cstdlib>

#include "engine/model/random_weights.h"
#include "tests/engine/routing/router_test_util.h"
#include "tests/engine/support/flux_router_golden.h"
#include "tests/kernels/gpu_test_util.h"

namespace flux::engine::testing_gpu {
namespace {

struct Prefilled {
  std::vector<LayerReport> layers;
  std::vector<float> logits;
};

Prefilled prefill(Decoder& decoder, const LayerRouter& router, const RoutingPlan& plan,
                  const std::vector<int32_t>& ids) {
  Session session(decoder, static_cast<int64_t>(ids.size()) + 1);
  session.set_router(&router);
  Prefilled p;
  p.logits = session.prefill(ids, plan, [&](const LayerReport& r) { p.layers.push_back(r); });
  return p;
}

std::unique_ptr<Backend> host_routed_cuda_backend() {
  setenv("FLUX_DEVICE_ROUTING", "0", 1);
  std::unique_ptr<Backend> b = make_cuda_backend();
  unsetenv("FLUX_DEVICE_ROUTING");
  return b;
}

// Same decisions, logits, densities and outputs, layer by layer.
void expect_same(const Prefilled& device, const Prefilled& host, const std::string& what) {
  ASSERT_EQ(device.layers.size(), host.layers.size()) << what;
  for (std::size_t l = 0; l < host.layers.size(); ++l) {
    const LayerReport &d = device.layers[l], &h = host.layers[l];
    const std::string where = what + " layer " + std::to_string(l);
    EXPECT_EQ(d.mode, h.mode) << where;
    EXPECT_EQ(d.source, h.source) << where;
    EXPECT_EQ(d.attention, h.attention) << where;
    EXPECT_DOUBLE_EQ(d.density, h.density) << where;
    ASSERT_EQ(d.router_score.has_value(), h.router_score.has_value()) << where;
    if (h.router_score) {
      EXPECT_NEAR(d.router_score->prob, h.router_score->prob, 1e-9) << where;
    }
    ASSERT_EQ(d.router_logits.size(), h.router_logits.size()) << where;
    for (std::size_t i = 0; i < h.router_logits.size(); ++i)
      EXPECT_FLOAT_EQ(d.router_logits[i], h.router_logits[i]) << where;
    EXPECT_GE(d.router_ms, 0.0) << where;
    EXPECT_GT(d.prefill_ms, 0.0) << where;
  }
  EXPECT_LT(rel_err(device.logits, host.logits), 1e-6) << what;
}

// Thresholds 0 / 1 on alternating layers: the scored side always wins / never wins.
RoutingPlan forced(RoutingPlan plan) {
  for (std::size_t l = 0; l < plan.layers.size(); ++l) plan.layers[l].router_threshold = l % 2 == 0 ? 0.0f : 1.0f;
  return plan;
}

TEST(CudaDeviceRouting, FluxCheckpointsRouteOnTheDeviceAsOnTheHost) {
  FLUX_REQUIRE_GPU();
  std::unique_ptr<Backend> dev = make_cuda_backend(), host = host_routed_cuda_backend();
  ASSERT_TRUE(dev->device_routing());
  ASSERT_FALSE(host->device_routing());
  int sa = 0, fa = 0;
  for (const std::string& name : test::kFluxGoldenCases) {
    const test::FluxGoldenCase c = test::load_flux_golden(name);
    Decoder dd(c.files.config(), load_decoder_weights(c.files, *dev), *dev);
    Decoder hd(c.files.config(), load_decoder_weights(c.files, *host), *host);
    RoutingPlan plan = resolve(RouteSpec{}, c.files.config().n_layers, route_defaults(&*c.router));
    plan.dense.mode = AttentionMode::Full;  // the device path needs static block lists on both sides
    plan.sparse.mode = AttentionMode::Streaming;
    plan.sparse.window = 64;  // prompts of a few hundred tokens: streaming must differ from full
    plan.sparse.sink = 16;
    plan.sparse.block = plan.dense.block = 16;
    for (const nlohmann::json& p : c.golden["prompts"]) {
      const std::vector<int32_t> ids = p["ids"].get<std::vector<int32_t>>();
      for (const RoutingPlan& pl : {plan, forced(plan)}) {
        const Prefilled d = prefill(dd, *c.router, pl, ids), h = prefill(hd, *c.router, pl, ids);
        expect_same(d, h, name + " prompt of " + std::to_string(ids.size()));
        for (const LayerReport& r : d.layers) (r.mode == LayerMode::SA ? sa : fa)++;
      }
    }
  }
  EXPECT_GT(sa, 0);
  EXPECT_GT(fa, 0);
}

TEST(CudaDeviceRouting, ElasticRouterRoutesOnTheDeviceAsOnTheHost) {
  FLUX_REQUIRE_GPU();
  std::unique_ptr<Backend> dev = make_cuda_backend(), host = host_routed_cuda_backend();
  const ModelConfig cfg = random_preset_config("smollm2-135m");
  Decoder dd(cfg, make_random_weights(cfg, *dev, 5, StorageType::F32), *dev);
  Decoder hd(cfg, make_random_weights(cfg, *host, 5, StorageType::F32), *host);
  const LayerRouter router = test::make_router(cfg.n_layers, cfg.n_kv_heads, cfg.head_dim);
  RoutingPlan plan = resolve(RouteSpec{}, cfg.n_layers, route_defaults(&router));
  plan.sparse.window = 128;
  std::vector<int32_t> ids(700);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 7919) % 4000);
  int sa = 0;
  for (const RoutingPlan& pl : {plan, forced(plan)}) {
    const Prefilled d = prefill(dd, router, pl, ids), h = prefill(hd, router, pl, ids);
    expect_same(d, h, "elastic");
    for (const LayerReport& r : d.layers) sa += r.mode == LayerMode::SA;
  }
  EXPECT_GT(sa, 0);
}

}  // namespace
}  // namespace flux::engine::testing_gpu
