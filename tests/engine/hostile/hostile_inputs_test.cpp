// The hostile-input contract at the engine API (docs/reliability.md): each case ends in a flux::engine::Error with a
// message naming the fault — never a crash, a stack overflow, undefined behaviour or a huge allocation. Cases the
// format suites already cover (truncation, overlaps, bad dims, escaping shard paths) are listed in the doc, not here.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "engine/core/error.h"
#include "engine/format/hf_config.h"
#include "engine/format/safetensors_file.h"
#include "engine/routing/router_file.h"
#include "engine/routing/route_spec.h"
#include "engine/runtime/run_report.h"
#include "engine/tokenizer/hf_tokenizer_json.h"
#include "tests/engine/support/error_of.h"
#include "tests/engine/support/safetensors_test_files.h"

namespace flux::engine {
namespace {

namespace fs = std::filesystem;
using flux::test::error_of;

fs::path write_text(const std::string& name, const std::string& text) {
  return flux::test::write_test_file(name, std::vector<uint8_t>(text.begin(), text.end()));
}

// 100k nested arrays: parsing is iterative, but quoting such a value in an error message (dump) or copying it would
// recurse 100k frames deep and overflow the stack, so every file-level JSON reader refuses more than 64 levels.
std::string deep(int levels = 100'000) {
  return std::string(static_cast<std::size_t>(levels), '[') + std::string(static_cast<std::size_t>(levels), ']');
}

TEST(HostileJson, DeeplyNestedDocumentsAreRefusedByEveryReader) {
  const std::string nested = "nested deeper than 64 levels";
  EXPECT_ERROR(error_of([&] {
                 model_config_from_hf_file(write_text("deep/config.json", R"({"model_type":"llama",)"
                                                                          R"("num_hidden_layers":)" +
                                                                              deep() + "}"));
               }),
               nested);
  EXPECT_ERROR(
      error_of([&] {
        vocab_from_hf_tokenizer_json(write_text("deep_tok/tokenizer.json", R"({"model":{"merges":)" + deep() + "}}"));
      }),
      nested);
  EXPECT_ERROR(error_of([&] { load_route_file(write_text("deep.route.json", deep()).string()); }), nested);
  const std::string header = R"({"t":{"dtype":"F32","shape":[)" + deep() + R"(],"data_offsets":[0,4]}})";
  EXPECT_ERROR(error_of([&] { SafetensorsFile f(flux::test::write_raw_safetensors("deep.safetensors", header, {})); }),
               nested);
  const fs::path dir = flux::test::test_temp_dir() / "deep_index";
  fs::create_directories(dir);
  write_text("deep_index/model.safetensors.index.json", R"({"metadata":{"m":)" + deep() + R"(},"weight_map":{}})");
  EXPECT_ERROR(error_of([&] { SafetensorsModel::open(dir); }), nested);
  // 64 levels are still fine.
  EXPECT_ERROR(error_of([&] { load_route_file(write_text("ok.route.json", deep(60)).string()); }),
               "must hold a JSON object");
}

// Found by the fuzzers (UBSan): nlohmann's get<int>() of 1e300 converts a double out of int's range.
TEST(HostileJson, HugeFloatsWhereIntegersBelongAreErrors) {
  RunReport report;
  report.layers.push_back({});
  nlohmann::json j = report.to_json();
  j["settings"]["max_new_tokens"] = 1e300;
  EXPECT_ERROR(error_of([&] { RunReport::from_json(j); }), "where an integer is expected");
  j = report.to_json();
  j["layers"][0]["kv_bytes"] = -1e300;
  EXPECT_ERROR(error_of([&] { RunReport::from_json(j); }), "where an integer is expected");

  RouterConfig config;
  nlohmann::json rc = router_config_json(config);
  rc["n_layers"] = 2;
  rc["head_dim"] = 4;
  rc["sink"] = 1e300;
  EXPECT_ERROR(error_of([&] { router_config_from_json(rc, "r.safetensors"); }),
               "r.safetensors: router config key 'sink' must be an integer in range (got a number)");
  rc["sink"] = 4294967296ll;
  EXPECT_ERROR(error_of([&] { router_config_from_json(rc, "r.safetensors"); }), "key 'sink' must be an integer");

  const auto tok = write_text("float_id/tokenizer.json",
                              R"({"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":1e300},)"
                              R"("merges":["a a"]}})");
  EXPECT_ERROR(error_of([&] { vocab_from_hf_tokenizer_json(tok); }), "token id 1e+300 is not an integer");
}

TEST(HostileJson, ReportWithInvalidUtf8IsSavedAsValidJson) {
  RunReport report;
  report.model_name = "model\xff\xfe";
  report.settings.system_prompt = "caf\xc3";
  const fs::path path = flux::test::test_temp_dir() / "utf8_report.json";
  ASSERT_EQ(error_of([&] { report.save(path); }), "(no error)");
  std::ifstream in(path);
  const nlohmann::json back = nlohmann::json::parse(in);  // throws on invalid UTF-8
  EXPECT_EQ(back["model"]["name"].get<std::string>(), "model\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(HostileJson, TokenizerWithoutMergesOrWithMissingMergePieces) {
  const std::string pre = R"({"pre_tokenizer":{"type":"ByteLevel"},"model":{"type":"BPE","vocab":{"a":0,"b":1},)";
  EXPECT_ERROR(
      error_of([&] { vocab_from_hf_tokenizer_json(write_text("nomerge/tokenizer.json", pre + R"("merges":[]}})")); }),
      "tokenizer: BPE vocabulary has no merges");
  const VocabData v =
      vocab_from_hf_tokenizer_json(write_text("badmerge/tokenizer.json", pre + R"("merges":["a b"]}})"));
  EXPECT_ERROR(error_of([&] { make_tokenizer(v); }),
               "tokenizer: merge 0 'a b' names a piece that is not in the vocabulary");
}

}  // namespace
}  // namespace flux::engine
