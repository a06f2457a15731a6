#include "engine/runtime/run_report.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/core/error.h"

namespace flux::engine {
namespace {

RunReport sample_report() {
  RunReport r;
  r.model_name = "tiny";
  r.architecture = "llama";
  r.backend = "cpu";
  r.prompt_tokens = 100;
  r.sparse.mode = AttentionMode::Streaming;
  r.settings.max_new_tokens = 3;
  for (int i = 0; i < 4; ++i) {
    LayerReport l;
    l.index = i;
    l.mode = i % 2 ? LayerMode::SA : LayerMode::FA;
    l.attention = i % 2 ? "streaming" : "full";
    if (i == 1) {
      l.router_score = RouterScore{LayerMode::FA, 0.25};
      l.router_logits = {0.5f, -0.6f};
    }
    l.source = i == 3 ? DecisionSource::Override : DecisionSource::Default;
    l.prefill_ms = 1.5 * (i + 1);
    l.kv_bytes = 1000u * (i + 1);
    r.layers.push_back(l);
  }
  r.tokens = {{5, "Hello", 40.0}, {6, ", \"world\"", 10.0}, {7, "\n", 30.0}};
  r.output_text = "Hello, \"world\"\n";
  r.summary.prefill_ms = 20.0;
  r.summary.ttft_ms = 40.0;
  r.finalize_summary();
  return r;
}

TEST(RunReport, SummaryIsDerivedFromLayersAndTokens) {
  const RunReport r = sample_report();
  EXPECT_DOUBLE_EQ(r.summary.sa_fraction, 0.5);
  EXPECT_EQ(r.summary.kv_bytes, 10000u);
  EXPECT_DOUBLE_EQ(r.summary.decode_ms_per_token, 20.0);  // tokens 1 and 2: (10 + 30) / 2
  EXPECT_DOUBLE_EQ(r.summary.decode_tokens_per_s, 50.0);
  EXPECT_DOUBLE_EQ(r.summary.prefill_tokens_per_s, 5000.0);
}

TEST(RunReport, JsonHasTheDocumentedSchemaAndRoundTrips) {
  const RunReport r = sample_report();
  const nlohmann::json j = r.to_json();
  EXPECT_EQ(j["schema_version"], kReportSchemaVersion);
  ASSERT_EQ(j["layers"].size(), 4u);
  EXPECT_EQ(j["layers"][1]["mode"], "SA");
  EXPECT_EQ(j["layers"][1]["attention"], "streaming");
  EXPECT_EQ(j["layers"][0]["attention"], "full");
  EXPECT_TRUE(j["layers"][0]["router_fa_prob"].is_null());
  EXPECT_DOUBLE_EQ(j["layers"][1]["router_fa_prob"].get<double>(), 0.25);
  EXPECT_EQ(j["layers"][1]["router_logits"].size(), 2u);
  EXPECT_EQ(j["settings"]["decode_mode"], "fluxscope");
  EXPECT_EQ(j["settings"]["dense_attention"]["kind"], "full");
  EXPECT_EQ(j["layers"][3]["source"], "override");
  EXPECT_EQ(j["decode"]["tokens"][1]["text"], ", \"world\"");
  EXPECT_DOUBLE_EQ(j["summary"]["sa_fraction"].get<double>(), 0.5);
  const RunReport back = RunReport::from_json(j);
  EXPECT_EQ(back.to_json(), j);
}

TEST(RunReport, FromJsonRejectsOtherDocuments) {
  EXPECT_THROW(RunReport::from_json(nlohmann::json{{"schema_version", 99}}), Error);
  EXPECT_THROW(RunReport::from_json(nlohmann::json::array()), Error);
}

TEST(RunReport, CsvHasOneRowPerLayerTokenAndSummaryWithQuoting) {
  const std::string csv = sample_report().to_csv();
  std::istringstream in(csv);
  std::string line;
  int layers = 0, tokens = 0, summaries = 0;
  std::getline(in, line);
  EXPECT_EQ(line.rfind("table,index,mode", 0), 0u);
  while (std::getline(in, line)) {
    layers += line.rfind("layer,", 0) == 0;
    tokens += line.rfind("token,", 0) == 0;
    summaries += line.rfind("summary,", 0) == 0;
  }
  EXPECT_EQ(layers, 4);
  EXPECT_EQ(summaries, 1);
  EXPECT_NE(csv.find("\", \"\"world\"\"\""), std::string::npos);  // embedded quotes doubled
  EXPECT_EQ(tokens, 3);
  EXPECT_NE(csv.find(",\"\n\","), std::string::npos);  // the newline token is a quoted field
}

TEST(RunReport, SaveWritesJsonAndCsvAndRejectsBadPaths) {
  const auto dir = std::filesystem::temp_directory_path() / "flux_report_test";
  std::filesystem::create_directories(dir);
  const RunReport r = sample_report();
  r.save(dir / "r.json");
  r.save(dir / "r.csv");
  std::ifstream f(dir / "r.json");
  EXPECT_EQ(nlohmann::json::parse(f), r.to_json());
  EXPECT_FALSE(std::filesystem::exists(dir / "r.json.part"));
  EXPECT_THROW(r.save(dir / "r.txt"), Error);
  EXPECT_THROW(r.save("/nonexistent-dir/r.json"), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace flux::engine
