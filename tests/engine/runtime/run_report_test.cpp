#include "engine/runtime/run_report.h"

#include <gtest/gtest.h>

#include <thread>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/core/error.h"
#include "tests/engine/support/error_of.h"

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
    l.attention_ms = 0.5 * (i + 1);
    l.kv_bytes = 1000u * (i + 1);
    l.kv_bytes_kept = 900u * (i + 1);
    l.kv_bytes_read = 800u * (i + 1);
    l.kv_bytes_new = 30u * (i + 1);
    r.layers.push_back(l);
  }
  r.memory.measured = true;
  r.memory.weights = 123456;
  r.memory.kv_all_fa = 4 * 4000;
  for (const auto& l : r.layers)
    r.memory.layers.push_back({l.kv_bytes, l.kv_bytes_kept, l.kv_bytes_read, l.kv_bytes_new, l.index == 1, false});
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

// A recorded XAttention selection on layer 3 (SA side xattn), aggregated over 2 heads.
RunReport report_with_xattn_mask() {
  RunReport r = sample_report();
  r.sparse.mode = AttentionMode::XAttention;
  r.sparse.block = 32;
  BlockLists lists;  // 100 tokens: 4 query blocks; head 0 computes the diagonal only, head 1 adds block 0
  lists.block = 32;
  lists.n_q_blocks = lists.n_kv_blocks = 4;
  lists.n_heads = 2;
  lists.offsets = {0, 1, 2, 3, 4, 5, 7, 9, 11};
  lists.kv_blocks = {0, 1, 2, 3, 0, 0, 1, 0, 2, 0, 3};
  r.layers[3].mode = LayerMode::SA;
  r.layers[3].attention = "xattn";
  r.layers[3].block_mask = std::make_shared<const BlockMask>(aggregate_heads(lists, 2));
  r.layers[3].density = lists.density();
  return r;
}

TEST(RunReport, Schema3FieldsRoundTrip) {
  const RunReport r = report_with_xattn_mask();
  const nlohmann::json j = nlohmann::json::parse(r.to_json().dump());
  EXPECT_EQ(j["schema_version"], 3);
  EXPECT_DOUBLE_EQ(j["layers"][2]["attention_ms"].get<double>(), 1.5);
  EXPECT_EQ(j["layers"][2]["kv_bytes_new"], 90u);
  EXPECT_FALSE(j["layers"][2].contains("block_mask"));  // static kinds store nothing
  EXPECT_EQ(j["layers"][3]["block_mask"]["encoding"], "causal-counts-u8");
  EXPECT_EQ(j["memory"]["weights"], 123456u);
  EXPECT_DOUBLE_EQ(j["summary"]["attention_ms"].get<double>(), 0.5 + 1.0 + 1.5 + 2.0);
  const RunReport back = RunReport::from_json(j);
  EXPECT_EQ(back.to_json(), j);
  ASSERT_TRUE(back.layers[3].block_mask != nullptr);
  EXPECT_EQ(*back.layers[3].block_mask, *r.layers[3].block_mask);
  EXPECT_EQ(back.memory, r.memory);
  EXPECT_DOUBLE_EQ(back.layers[0].attention_ms, 0.5);
  EXPECT_EQ(back.layers[1].kv_bytes_new, 60u);
}

TEST(RunReport, Schema2ReportsStillLoad) {
  nlohmann::json j = sample_report().to_json();
  j["schema_version"] = 2;
  j.erase("memory");
  j["summary"].erase("attention_ms");
  for (auto& l : j["layers"]) {
    l.erase("attention_ms");
    l.erase("kv_bytes_new");
  }
  const RunReport r = RunReport::from_json(j);
  EXPECT_EQ(r.layers.size(), 4u);
  EXPECT_EQ(r.layers[1].attention_ms, 0.0);
  EXPECT_EQ(r.layers[1].kv_bytes_new, 0u);
  EXPECT_EQ(r.layers[1].block_mask, nullptr);
  EXPECT_FALSE(r.memory.measured);
  EXPECT_TRUE(r.memory.layers.empty());
  EXPECT_DOUBLE_EQ(r.layers[1].prefill_ms, 3.0);
}

TEST(RunReport, MalformedMaskOrMemoryNamesTheLayer) {
  nlohmann::json j = report_with_xattn_mask().to_json();
  j["layers"][3]["block_mask"]["n_heads"] = 1;  // both heads computed the diagonal blocks: count 2 of 1
  EXPECT_ERROR(test::error_of([&] { RunReport::from_json(j); }), "layer 3: block mask");
  nlohmann::json m = sample_report().to_json();
  m["memory"]["layers"][0]["kv_kept"] = -5;
  EXPECT_ERROR(test::error_of([&] { RunReport::from_json(m); }), "'kv_kept' must be a non-negative integer");
}

TEST(RunReport, LayerBlockMaskIsTheRecordedOneElseThePlans) {
  const RunReport r = report_with_xattn_mask();
  EXPECT_EQ(layer_block_mask(r, 3), *r.layers[3].block_mask);
  // Layer 1 ran SA streaming, layer 0 FA: rebuilt from the report's plans over its 100 prompt tokens.
  RunReport streaming = sample_report();
  streaming.sparse.block = 16;
  streaming.sparse.sink = 16;
  streaming.sparse.window = 32;
  const BlockMask sa = layer_block_mask(streaming, 1);
  EXPECT_EQ(sa, static_block_mask(streaming.sparse, streaming.prompt_tokens, 1));
  EXPECT_EQ(sa.n_q_blocks, 7);
  EXPECT_LT(sa.density(), 1.0);
  const BlockMask fa = layer_block_mask(streaming, 0, 8);
  EXPECT_EQ(fa, static_block_mask(streaming.dense, streaming.prompt_tokens, 8));
  EXPECT_DOUBLE_EQ(fa.density(), 1.0);
  RunReport unrecorded = r;
  unrecorded.layers[3].block_mask.reset();
  EXPECT_ERROR(test::error_of([&] { layer_block_mask(unrecorded, 3); }), "not recorded");
  EXPECT_ERROR(test::error_of([&] { layer_block_mask(r, 4); }), "no layer 4");
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
  for (const char* column : {",attention_ms", ",kv_bytes_kept", ",kv_bytes_read", ",kv_bytes_new", ",density"}) {
    EXPECT_NE(line.find(column), std::string::npos) << column;
  }
  const auto columns = std::count(line.begin(), line.end(), ',');
  while (std::getline(in, line)) {
    if (line.rfind("layer,", 0) == 0 || line.rfind("summary,", 0) == 0) {
      EXPECT_EQ(std::count(line.begin(), line.end(), ','), columns) << line;
    }
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
  // Only the two reports remain (the temporary files were renamed over them), readable by others.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 2);
  EXPECT_NE(std::filesystem::status(dir / "r.json").permissions() & std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  // Two writers of one path at once leave one whole report, never an interleaving.
  RunReport other = sample_report();
  other.output_text = std::string(200'000, 'x');
  std::thread a([&] { for (int i = 0; i < 20; ++i) r.save(dir / "same.json"); });
  std::thread b([&] { for (int i = 0; i < 20; ++i) other.save(dir / "same.json"); });
  a.join();
  b.join();
  std::ifstream same(dir / "same.json");
  const nlohmann::json got = nlohmann::json::parse(same);
  EXPECT_TRUE(got == r.to_json() || got == other.to_json());
  EXPECT_THROW(r.save(dir / "r.txt"), Error);
  EXPECT_THROW(r.save("/nonexistent-dir/r.json"), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace flux::engine
