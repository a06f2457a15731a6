// Engine runs on a random-weight SmolLM2-135M shape (CPU; no tokenizer, so no end-of-turn token stops a run early): the memory estimate before a run equals the KV measured after it, layer
// by layer, for FA, streaming (both decode modes), triangle, XAttention and mixed plans; kv_all_fa is what an all-FA
// run measures; attention_ms is part of each layer's prefill time; XAttention layers record the selection they ran.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "engine/routing/route_spec.h"
#include "engine/runtime/engine.h"
#include "tests/engine/support/error_of.h"

namespace flux::engine {
namespace {

constexpr int kPrompt = 130, kNew = 4;
// Small blocks so a 130-token prompt has 9 query blocks and the SA kinds are sparse.
constexpr const char* kParams = "block=16 sink=16 window=32 n_last=40 stride=4 tau=0.8";

std::unique_ptr<Engine> load_model() {
  EngineOptions options{.backend = "cpu", .threads = 2};
  options.default_router = false;
  options.random_weights = "smollm2-135m";
  return Engine::load({}, options);
}

RunRequest request_for(const std::string& route) {
  RunRequest r;
  for (int i = 0; i < kPrompt; ++i) r.prompt_tokens.push_back(static_cast<int32_t>(3 + (i * 37) % 200));
  r.settings.max_new_tokens = kNew;
  r.route = parse_route_spec(route + " " + kParams);
  return r;
}

// Runs `route` and checks the estimate made before it against what it measured; returns the report.
RunReport run_and_compare(Engine& engine, const RunRequest& request, std::size_t all_fa_kv) {
  const MemoryReport before = engine.estimate_memory(request);
  RunReport report = engine.run(request);
  EXPECT_EQ(report.stop_reason, "length") << "the estimate assumes every new token is generated";
  const MemoryReport& after = report.memory;
  EXPECT_FALSE(before.measured);
  EXPECT_TRUE(after.measured);
  EXPECT_EQ(before.layers.size(), after.layers.size());
  EXPECT_EQ(after.layers.size(), report.layers.size());
  for (std::size_t l = 0; l < after.layers.size() && l < before.layers.size(); ++l) {
    SCOPED_TRACE(l);
    EXPECT_EQ(before.layers[l].kv_reserved, after.layers[l].kv_reserved);
    EXPECT_EQ(before.layers[l].kv_kept, after.layers[l].kv_kept);
    EXPECT_EQ(before.layers[l].kv_read, after.layers[l].kv_read);
    EXPECT_EQ(before.layers[l].kv_new_tokens, after.layers[l].kv_new_tokens);
    EXPECT_EQ(before.layers[l].evicted, after.layers[l].evicted);
    EXPECT_EQ(after.layers[l].kv_reserved, report.layers[l].kv_bytes);  // the report's layer says the same
    EXPECT_EQ(after.layers[l].kv_new_tokens, report.layers[l].kv_bytes_new);
  }
  if (all_fa_kv > 0) {
    EXPECT_EQ(before.kv_all_fa, all_fa_kv);
    EXPECT_EQ(after.kv_all_fa, all_fa_kv);
  }
  EXPECT_EQ(before.weights, after.weights);
  EXPECT_GT(after.weights, 0u);
  EXPECT_FALSE(after.workspace_measured);  // the CPU backend tracks no peak
  std::printf("[metric] %s: KV %zu of %zu all-FA bytes (saving %.1f%%), kept %zu, read %zu\n",
              report.settings.route.c_str(), after.kv_reserved_total(), after.kv_all_fa, after.kv_saving() * 100.0,
              after.kv_kept_total(), after.kv_read_total());
  return report;
}

TEST(EngineMemory, EstimateBeforeTheRunEqualsTheMeasuredKvAfterIt) {
  auto engine = load_model();
  const RunReport all_fa = run_and_compare(*engine, request_for("fa"), 0);
  const std::size_t all_fa_kv = all_fa.memory.kv_reserved_total();
  EXPECT_EQ(all_fa.memory.kv_all_fa, all_fa_kv);
  // FA layers reserve rows for the new tokens: capacity (prompt + max_new) minus the prompt.
  const std::size_t row = all_fa.memory.layers[0].kv_reserved / (kPrompt + kNew);
  EXPECT_EQ(all_fa.memory.layers[0].kv_new_tokens, static_cast<std::size_t>(kNew) * row);
  // Each route once (CPU time is scarce in CI); XAttention runs in the next test. Streaming evicts only in FluxScope
  // decode; Reference and the other kinds keep every row and read fewer (reference) or all.
  const struct {
    const char* route;
    bool saves;
  } routes[] = {{"sa sa=streaming decode=fluxscope", true},
                {"every-other sa=streaming decode=reference", false},
                {"every-other sa=triangle", false},
                {"every-other fa=xattn sa=streaming decode=reference", false}};
  for (const auto& r : routes) {
    SCOPED_TRACE(r.route);
    const RunReport report = run_and_compare(*engine, request_for(r.route), all_fa_kv);
    if (r.saves) {
      EXPECT_GT(report.memory.kv_saving(), 0.5);
    } else {
      EXPECT_EQ(report.memory.kv_saving(), 0.0);
    }
    // FA layers decode densely whatever their kind (an FA-side XAttention layer too, ALGORITHMS.md §4); SA layers
    // in Reference decode read only their block-streaming rows.
    for (const LayerReport& l : report.layers) {
      const std::size_t dense_read = all_fa.memory.layers[static_cast<std::size_t>(l.index)].kv_read;
      if (l.mode == LayerMode::FA) {
        EXPECT_EQ(l.kv_bytes_read, dense_read) << "layer " << l.index;
      } else if (report.sparse.decode == DecodeMode::Reference) {
        EXPECT_LT(l.kv_bytes_read, dense_read) << "layer " << l.index;
      }
    }
  }
}

TEST(EngineMemory, AttentionTimeIsPartOfEachLayersPrefillAndXattnRecordsItsSelection) {
  auto engine = load_model();
  const ModelConfig& cfg = engine->config();
  const RunReport report = run_and_compare(*engine, request_for("every-other sa=xattn"), 0);
  double attention = 0.0;
  for (const LayerReport& l : report.layers) {
    SCOPED_TRACE(l.index);
    EXPECT_GT(l.attention_ms, 0.0);
    EXPECT_LE(l.attention_ms, l.prefill_ms);
    attention += l.attention_ms;
    const BlockMask mask = layer_block_mask(report, l.index, cfg.n_heads);
    EXPECT_EQ(mask.n_q_blocks, (kPrompt + 15) / 16);
    EXPECT_NEAR(mask.density(), l.density, 1e-12);
    if (l.attention == "xattn") {
      ASSERT_TRUE(l.block_mask != nullptr);
      EXPECT_EQ(l.block_mask->n_heads, cfg.n_heads);
      EXPECT_LT(l.density, 1.0);
    } else {
      EXPECT_EQ(l.block_mask, nullptr);  // static kinds store nothing
    }
    if (l.index < 4) std::printf("[metric] layer %d %s: prefill %.3f ms, attention %.3f ms, density %.3f\n", l.index,
                l.attention.c_str(), l.prefill_ms, l.attention_ms, l.density);
  }
  EXPECT_DOUBLE_EQ(report.summary.attention_ms, attention);
  EXPECT_LE(report.summary.attention_ms, report.summary.prefill_ms);
  // The JSON keeps the selection.
  const RunReport back = RunReport::from_json(nlohmann::json::parse(report.to_json().dump()));
  EXPECT_EQ(layer_block_mask(back, 1), layer_block_mask(report, 1));

  RunRequest off = request_for("every-other sa=xattn");
  off.record_block_masks = false;
  const RunReport unrecorded = engine->run(off);
  EXPECT_EQ(unrecorded.layers[1].block_mask, nullptr);
  EXPECT_DOUBLE_EQ(unrecorded.layers[1].density, report.layers[1].density);
  EXPECT_ERROR(test::error_of([&] { layer_block_mask(unrecorded, 1); }), "not recorded");
}

TEST(EngineMemory, EstimateRejectsWhatRunRejects) {
  auto engine = load_model();
  RunRequest empty;
  empty.prompt_tokens = {};
  empty.prompt = "  ";
  EXPECT_ERROR(test::error_of([&] { engine->estimate_memory(empty); }), "the prompt is empty");
  RunRequest huge = request_for("fa");
  huge.prompt_tokens.assign(static_cast<std::size_t>(engine->context_length()), 5);
  EXPECT_ERROR(test::error_of([&] { engine->estimate_memory(huge); }), "the context holds");
}

}  // namespace
}  // namespace flux::engine
