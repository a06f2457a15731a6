// MemoryReport: totals and the saving against all-FA, its JSON round trip and clear errors; estimate_memory follows
// the KvCache's sizing rules (engine_memory_test.cpp checks estimate against measurement on real runs).
#include "engine/runtime/memory_report.h"

#include <gtest/gtest.h>

#include "engine/core/error.h"
#include "engine/runtime/kv_cache.h"
#include "tests/engine/support/error_of.h"

namespace flux::engine {
namespace {

MemoryReport sample() {
  MemoryReport m;
  m.measured = true;
  m.weights = 1000;
  m.workspace = 50;
  m.workspace_measured = true;
  m.kv_all_fa = 400;
  m.layers = {{100, 90, 80, 10, false, false}, {40, 40, 40, 0, true, false}};
  return m;
}

TEST(MemoryReport, TotalsAndSaving) {
  const MemoryReport m = sample();
  EXPECT_EQ(m.kv_reserved_total(), 140u);
  EXPECT_EQ(m.kv_kept_total(), 130u);
  EXPECT_EQ(m.kv_read_total(), 120u);
  EXPECT_EQ(m.total(), 1000u + 140u + 50u);
  EXPECT_DOUBLE_EQ(m.kv_saving(), 1.0 - 140.0 / 400.0);
  EXPECT_DOUBLE_EQ(MemoryReport{}.kv_saving(), 0.0);
}

TEST(MemoryReport, JsonRoundTripsAndRejectsMalformedData) {
  const MemoryReport m = sample();
  const nlohmann::json j = nlohmann::json::parse(memory_report_to_json(m).dump());
  EXPECT_EQ(j.at("kv_reserved_total"), 140u);
  EXPECT_EQ(memory_report_from_json(j), m);
  nlohmann::json bad = j;
  bad["layers"][1]["evicted"] = "yes";
  EXPECT_ERROR(test::error_of([&] { memory_report_from_json(bad); }), "'evicted' must be true or false");
  bad = j;
  bad.erase("weights");
  EXPECT_ERROR(test::error_of([&] { memory_report_from_json(bad); }), "'weights'");
  bad = j;
  bad["kv_all_fa"] = 1.5;
  EXPECT_ERROR(test::error_of([&] { memory_report_from_json(bad); }), "'kv_all_fa' must be a non-negative integer");
  EXPECT_ERROR(test::error_of([&] { memory_report_from_json(nlohmann::json::array()); }), "expected an object");
}

ModelConfig tiny_config() {
  ModelConfig c;
  c.n_layers = 4;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 16;
  c.hidden = 64;
  return c;
}

RoutingPlan plan_with(std::vector<LayerMode> modes, AttentionMode sa, DecodeMode decode) {
  RoutingPlan p;
  p.sparse.mode = sa;
  p.sparse.block = 16;
  p.sparse.sink = 16;
  p.sparse.window = 32;
  p.sparse.decode = decode;
  for (const LayerMode m : modes) {
    LayerRoute r;
    r.mode = m;
    p.layers.push_back(r);
  }
  return p;
}

TEST(MemoryEstimate, FollowsTheCacheRulesPerLayer) {
  const ModelConfig c = tiny_config();
  const std::size_t row = 2 * 32 * 4;  // K and V of kv_dim 32, fp32
  const int64_t prompt = 100, context = 512;
  const int max_new = 20;  // capacity 120; 119 positions stored at the end (the last token is never fed back)
  RoutingPlan plan = plan_with({LayerMode::FA, LayerMode::SA, LayerMode::SA, LayerMode::FA}, AttentionMode::Streaming,
                               DecodeMode::FluxScope);
  plan.layers[3].from_router = true;
  const MemoryReport m = estimate_memory(c, plan, prompt, max_new, context, 4);
  EXPECT_FALSE(m.measured);
  ASSERT_EQ(m.layers.size(), 4u);
  EXPECT_EQ(m.kv_all_fa, 4 * 120 * row);
  EXPECT_EQ(m.layers[0].kv_reserved, 120 * row);
  EXPECT_EQ(m.layers[0].kv_kept, 119 * row);
  EXPECT_EQ(m.layers[0].kv_read, 119 * row);
  EXPECT_EQ(m.layers[0].kv_new_tokens, 20 * row);
  EXPECT_FALSE(m.layers[0].evicted);
  EXPECT_EQ(m.layers[1].kv_reserved, 48 * row);  // sink 16 + window 32 ring
  EXPECT_EQ(m.layers[1].kv_kept, 48 * row);
  EXPECT_EQ(m.layers[1].kv_new_tokens, 0u);
  EXPECT_TRUE(m.layers[1].evicted);
  EXPECT_TRUE(m.layers[3].router_decides);
  EXPECT_EQ(m.layers[3].kv_reserved, 120 * row);  // counted FA
  EXPECT_DOUBLE_EQ(m.kv_saving(), 1.0 - (2 * 120.0 + 2 * 48.0) / (4 * 120.0));

  // Reference decode evicts nothing; an SA layer reads its block-streaming rows (sink block + local blocks).
  const MemoryReport r = estimate_memory(
      c, plan_with({LayerMode::SA, LayerMode::SA, LayerMode::FA, LayerMode::FA}, AttentionMode::Streaming,
                   DecodeMode::Reference),
      prompt, max_new, context, 4);
  EXPECT_EQ(r.kv_reserved_total(), r.kv_all_fa);
  EXPECT_FALSE(r.layers[0].evicted);
  // Newest step at position 118: the sink block [0, 16) and the local blocks from (ceil(118/16) + 1)·16 - 32 = 112.
  EXPECT_EQ(r.layers[0].kv_read, (16 + 119 - 112) * row);
  EXPECT_LT(r.layers[0].kv_read, r.layers[2].kv_read);
  // An FA-side XAttention layer decodes densely in Reference mode too; only SA layers read block streaming.
  RoutingPlan xattn_fa = plan_with({LayerMode::SA, LayerMode::FA, LayerMode::FA, LayerMode::FA},
                                   AttentionMode::Streaming, DecodeMode::Reference);
  xattn_fa.dense = xattn_fa.sparse;
  xattn_fa.dense.mode = AttentionMode::XAttention;
  const MemoryReport x = estimate_memory(c, xattn_fa, prompt, max_new, context, 4);
  EXPECT_EQ(x.layers[1].kv_read, 119 * row);
  EXPECT_EQ(x.layers[0].kv_read, (16 + 119 - 112) * row);

  // The context bounds the capacity: a 500-token prompt with 100 new tokens in a 512 context.
  const MemoryReport full = estimate_memory(c, plan_with(std::vector<LayerMode>(4, LayerMode::FA),
                                                         AttentionMode::Streaming, DecodeMode::FluxScope),
                                            500, 100, 512, 2);
  EXPECT_EQ(full.layers[0].kv_reserved, 512u * 2 * 32 * 2);
  EXPECT_EQ(full.layers[0].kv_kept, 512u * 2 * 32 * 2);
  EXPECT_EQ(full.layers[0].kv_new_tokens, 12u * 2 * 32 * 2);
  EXPECT_ERROR(test::error_of([&] { estimate_memory(c, RoutingPlan{}, 10, 1, 512, 4); }), "plan of 0 layers");
}

}  // namespace
}  // namespace flux::engine
