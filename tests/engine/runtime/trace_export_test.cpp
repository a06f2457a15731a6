// trace_json on hand-built reports: parts that overshoot their layer are clipped inside it, layers the router did not
// score have no router span, the decode track starts where prefill ends, and every span is a complete event (ph X)
// with µs times. The span-by-span check against a real run is tests/cli/trace_test.sh.
#include "engine/runtime/trace_export.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace flux::engine {
namespace {

RunReport two_layer_report() {
  RunReport r;
  r.model_name = "tiny";
  r.prompt_tokens = 5;
  LayerReport a;
  a.index = 0;
  a.mode = LayerMode::SA;
  a.attention = "streaming";
  a.prefill_ms = 2.0;
  a.router_ms = 0.5;
  a.attention_ms = 3.0;  // measured separately: more than the layer's own time
  a.router_score = RouterScore{LayerMode::FA, 0.2};
  a.kv_bytes = 1000;
  LayerReport b;
  b.index = 1;
  b.prefill_ms = 1.0;
  b.attention_ms = 0.25;
  r.layers = {a, b};
  r.tokens = {{7, "a", 4.0}, {8, "b", 0.5}};
  r.summary.prefill_ms = 3.5;
  r.summary.ttft_ms = 4.0;
  return r;
}

std::vector<nlohmann::json> spans(const nlohmann::json& trace, const std::string& cat) {
  std::vector<nlohmann::json> out;
  for (const auto& e : trace["traceEvents"])
    if (e["ph"] == "X" && e.value("cat", "") == cat) out.push_back(e);
  return out;
}

TEST(TraceExport, PartsStayInsideTheirLayer) {
  const nlohmann::json t = trace_json(two_layer_report());
  const auto layers = spans(t, "layer");
  ASSERT_EQ(layers.size(), 2u);
  EXPECT_EQ(layers[0]["name"], "L0 SA streaming");
  EXPECT_DOUBLE_EQ(layers[0]["dur"].get<double>(), 2000.0);
  EXPECT_DOUBLE_EQ(layers[1]["ts"].get<double>(), 2000.0);
  EXPECT_EQ(layers[0]["args"]["kv_bytes"], 1000);
  EXPECT_DOUBLE_EQ(layers[0]["args"]["router_fa_prob"].get<double>(), 0.2);
  const auto parts = spans(t, "layer_part");
  ASSERT_EQ(parts.size(), 5u);  // layer 0: router, attention, rest; layer 1 (not scored): attention, rest
  EXPECT_EQ(parts[0]["name"], "router");
  EXPECT_DOUBLE_EQ(parts[1]["dur"].get<double>(), 1500.0);  // attention clipped to what the router left
  EXPECT_DOUBLE_EQ(parts[2]["dur"].get<double>(), 0.0);     // no time left for the rest
  EXPECT_EQ(parts[3]["name"], "attention full");
  EXPECT_DOUBLE_EQ(parts[3]["ts"].get<double>(), 2000.0);
  EXPECT_DOUBLE_EQ(parts[4]["dur"].get<double>(), 750.0);
  for (const auto& p : parts) {
    const double end = p["ts"].get<double>() + p["dur"].get<double>();
    const auto& layer = layers[p["args"]["layer"].get<std::size_t>()];
    EXPECT_GE(p["ts"].get<double>(), layer["ts"].get<double>());
    EXPECT_LE(end, layer["ts"].get<double>() + layer["dur"].get<double>() + 1e-9);
  }
}

TEST(TraceExport, DecodeFollowsTheFirstToken) {
  const nlohmann::json t = trace_json(two_layer_report());
  const auto phases = spans(t, "phase");
  ASSERT_EQ(phases.size(), 1u);
  EXPECT_DOUBLE_EQ(phases[0]["dur"].get<double>(), 4000.0);  // up to the TTFT, past prefill_ms
  const auto first = spans(t, "phase_part");
  ASSERT_EQ(first.size(), 1u);
  EXPECT_DOUBLE_EQ(first[0]["ts"].get<double>(), 3000.0);  // after the two layers
  const auto steps = spans(t, "decode_step");
  ASSERT_EQ(steps.size(), 1u);  // token 0 came out of prefill
  EXPECT_EQ(steps[0]["tid"], kTraceDecodeTid);
  EXPECT_DOUBLE_EQ(steps[0]["ts"].get<double>(), 4000.0);
  EXPECT_DOUBLE_EQ(steps[0]["dur"].get<double>(), 500.0);
  EXPECT_EQ(steps[0]["args"]["token"], 8);
  for (const auto& e : t["traceEvents"]) {
    EXPECT_TRUE(e["ph"] == "X" || e["ph"] == "M") << e.dump();
    EXPECT_TRUE(e.contains("pid") && e.contains("tid") && e.contains("args")) << e.dump();
  }
}

TEST(TraceExport, EmptyReportAndUnwritablePath) {
  const nlohmann::json t = trace_json(RunReport{});
  EXPECT_EQ(spans(t, "layer").size(), 0u);
  EXPECT_EQ(spans(t, "phase").size(), 1u);
  EXPECT_THROW(save_trace(RunReport{}, "/nonexistent/dir/t.json"), Error);
  const auto path = std::filesystem::temp_directory_path() / "flux_trace_export_test.json";
  save_trace(two_layer_report(), path);
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(path)), trace_json(two_layer_report()));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace flux::engine
