// Hostile router inputs (issue 20, docs/reliability.md): a router file whose sparse side is dense (sa_kind "full")
// would report SA layers that ran full attention, so it is refused; thresholds outside [0, 1] are refused wherever
// they come from (router file, route spec, route file, RouteSpec); a router whose MLP outputs NaN fails the run by
// name instead of sending every layer to FA as if the router had decided.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <limits>

#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/routing/route_spec.h"
#include "engine/routing/router_file.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/session.h"
#include "tests/engine/routing/router_test_util.h"
#include "tests/engine/support/error_of.h"

namespace flux::engine {
namespace {

using test::error_of;

std::string read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A saved router file with one value of its flux_router metadata replaced in place (padded with spaces, so the
// safetensors header keeps its length).
std::filesystem::path router_file_with(const std::string& key, const std::string& value, const std::string& name) {
  const auto path = test::router_temp_dir() / name;
  LayerRouter router = test::make_router(3, 2, 16);
  router.config().threshold = 0.625f;  // room for the replacements ("-0.1")
  save_router(router, path);
  std::string bytes = read_all(path);
  // The metadata is a JSON string inside the header JSON: its quotes are escaped.
  const std::string at = "\\\"" + key + "\\\":";
  const std::size_t start = bytes.find(at);
  EXPECT_NE(start, std::string::npos) << key;
  if (start == std::string::npos) return path;
  const std::size_t from = start + at.size();
  const std::size_t to = bytes.find_first_of(",}", from);
  const std::size_t old_len = to - from;
  EXPECT_LE(value.size(), old_len) << value;
  bytes.replace(from, old_len, value + std::string(old_len - std::min(old_len, value.size()), ' '));
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  return path;
}

TEST(HostileRouter, SaKindFullIsRefusedNotReportedAsSparse) {
  const auto path = router_file_with("sa_kind", "\\\"full\\\"", "sa_full.safetensors");
  EXPECT_ERROR(error_of([&] { load_router(path); }), "sa_kind 'full' is not sparse (streaming, triangle or xattn)");
  // The same file with a sparse kind loads (the patch itself is not what fails).
  const auto ok = router_file_with("sa_kind", "\\\"triangle\\\"", "sa_triangle.safetensors");
  EXPECT_EQ(load_router(ok).config().sa_kind, "triangle");
  // A route cannot ask for it either: sa=full is not a sparse kind.
  EXPECT_ERROR(error_of([&] { parse_route_spec("router sa=full"); }), "full");
}

TEST(HostileRouter, ThresholdsOutsideZeroOneAreRefusedEverywhere) {
  for (const std::string t : {"1.5", "-0.1", "1e9"}) {
    const auto path = router_file_with("threshold", t, "threshold.safetensors");
    EXPECT_ERROR(error_of([&] { load_router(path); }), "must be a probability in [0, 1]");
    EXPECT_ERROR(error_of([&] { parse_route_spec("router threshold=" + t); }), "must be a probability in [0, 1]");
  }
  EXPECT_ERROR(error_of([&] { parse_route_spec("router threshold=nan"); }), "threshold");
  RouteSpec spec = parse_route_spec("router");
  spec.threshold = 2.0f;
  const LayerRouter router = test::make_router(3, 2, 16);
  EXPECT_ERROR(error_of([&] { resolve(spec, 3, route_defaults(&router)); }), "router threshold 2 must be a probability");
  spec.threshold = std::numeric_limits<float>::infinity();
  EXPECT_ERROR(error_of([&] { resolve(spec, 3, route_defaults(&router)); }), "must be a probability in [0, 1]");
  const auto file = test::router_temp_dir() / "threshold.route.json";
  std::ofstream(file) << R"({"preset": "router", "threshold": 1.01})";
  EXPECT_ERROR(error_of([&] { load_route_file(file.string()); }), "must be a probability in [0, 1]");
  // The edges are probabilities.
  EXPECT_NO_THROW(parse_route_spec("router threshold=0"));
  EXPECT_NO_THROW(parse_route_spec("router threshold=1"));
}

TEST(HostileRouter, NanRouterOutputFailsByName) {
  auto backend = make_cpu_backend(2);
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/tiny_llama");
  Decoder decoder(files.config(), load_decoder_weights(files, *backend), *backend);
  {
    const LayerRouter router = test::make_router(3, 2, 16, {1.0f, std::numeric_limits<float>::quiet_NaN(), 1.0f});
    const RoutingPlan plan = resolve(parse_route_spec("router sink=16 window=32 block=16"), 3, route_defaults(&router));
    Session session(decoder, 512);
    session.set_router(&router);
    std::vector<int32_t> tokens;
    for (int i = 0; i < 40; ++i) tokens.push_back((i * 7 + 3) % 256);
    std::vector<LayerReport> reports;
    const std::string error =
        error_of([&] { session.prefill(tokens, plan, [&](const LayerReport& r) { reports.push_back(r); }); });
    EXPECT_ERROR(error, "router layer 1: the router produced a non-finite score (");
    EXPECT_ERROR(error, "nan); its weights or the layer's inputs hold NaN or inf");
    // Layer 0 was the router's decision; no layer was sent to FA in the router's name after the NaN.
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].source, DecisionSource::Router);
  }
}

// A route file's threshold is the run's, not the router's: sigmoid(1) = 0.73 is SA under the router's 0.5 and FA
// under the file's 0.9 (Elastic: SA iff P(SA) > T).
TEST(HostileRouter, ARouteFilesThresholdWinsOverTheRouters) {
  auto backend = make_cpu_backend(2);
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/tiny_llama");
  Decoder decoder(files.config(), load_decoder_weights(files, *backend), *backend);
  const LayerRouter router = test::make_router(3, 2, 16, {1.0f, 1.0f, 1.0f});
  const auto file = test::router_temp_dir() / "threshold_09.route.json";
  std::ofstream(file) << R"({"preset": "router", "threshold": 0.9, "sink": 16, "window": 32, "block": 16})";
  for (const auto& [spec, mode] : {std::pair{parse_route_spec("router sink=16 window=32 block=16"), LayerMode::SA},
                                   std::pair{load_route_file(file.string()), LayerMode::FA}}) {
    const RoutingPlan plan = resolve(spec, 3, route_defaults(&router));
    Session session(decoder, 512);
    session.set_router(&router);
    std::vector<int32_t> tokens(40, 5);
    std::vector<LayerReport> reports;
    session.prefill(tokens, plan, [&](const LayerReport& r) { reports.push_back(r); });
    ASSERT_EQ(reports.size(), 3u);
    for (const LayerReport& r : reports) {
      EXPECT_EQ(r.mode, mode) << r.index;
      EXPECT_EQ(r.source, DecisionSource::Router);
      EXPECT_FLOAT_EQ(r.router_threshold, mode == LayerMode::FA ? 0.9f : 0.5f);
    }
  }
}

// --router none (EngineOptions without the default and the checkpoint router) keeps a checkpoint's own router out;
// load_engine_router is the selection Engine::load makes.
TEST(HostileRouter, RouterNoneIgnoresTheCheckpointsOwnRouter) {
  const ModelFiles files = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/flux_router/llama_sigmoid_p100");
  std::string source;
  EXPECT_TRUE(load_engine_router(files, EngineOptions{}, source).has_value());
  EXPECT_EQ(source, "checkpoint");
  EngineOptions none;
  none.default_router = false;
  none.checkpoint_router = false;
  source.clear();
  EXPECT_FALSE(load_engine_router(files, none, source).has_value());
  EXPECT_EQ(source, "");
}

}  // namespace
}  // namespace flux::engine
