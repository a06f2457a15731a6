// Test helper: one case of tests/data/flux_router (a checkpoint in the authors' layout plus golden.json, written by
// tools/golden/make_flux_router_golden.py from the authors' own AttentionRouter), and its prompts prefilled on a
// backend under the router's default plan, so the CPU and CUDA golden tests differ only in their tolerances.
#pragma once

#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "engine/model/decoder.h"
#include "engine/model/model_files.h"
#include "engine/model/weight_loader.h"
#include "engine/routing/route_spec.h"
#include "engine/routing/router_file.h"
#include "engine/runtime/session.h"

namespace flux::test {

inline const std::vector<std::string> kFluxGoldenCases = {"qwen3_softmax_p100", "qwen3_sigmoid_p150",
                                                         "llama_softmax_p150", "llama_sigmoid_p100"};

inline nlohmann::json read_json_file(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  return nlohmann::json::parse(f);
}

struct FluxGoldenCase {
  std::string name;
  nlohmann::json golden, config;
  engine::ModelFiles files;
  std::optional<engine::LayerRouter> router;  // from the checkpoint alone, no router file
};

inline FluxGoldenCase load_flux_golden(const std::string& name) {
  const std::string dir = std::string(FLUX_TEST_DATA_DIR) + "/flux_router/" + name;
  FluxGoldenCase c{name, read_json_file(dir + "/golden.json"), read_json_file(dir + "/config.json"),
                   engine::ModelFiles::open(dir), std::nullopt};
  c.router = engine::router_from_checkpoint(c.files, &c.config);
  return c;
}

// One golden layer: what the engine reported and what the authors' router wrote ("logits", "fa").
using GoldenLayerCheck = std::function<void(const std::string& where, const engine::LayerReport& got,
                                            const nlohmann::json& want)>;

// Prefills every golden prompt on `backend` with the case's router; calls check once per (prompt, layer).
inline void check_golden_layers(const FluxGoldenCase& c, engine::Backend& backend, const GoldenLayerCheck& check) {
  using namespace flux::engine;
  ASSERT_TRUE(c.router.has_value()) << c.name;
  Decoder decoder(c.files.config(), load_decoder_weights(c.files, backend), backend);
  const RoutingPlan plan = resolve(RouteSpec{}, c.files.config().n_layers, route_defaults(&*c.router));
  for (const nlohmann::json& p : c.golden["prompts"]) {
    const std::vector<int32_t> ids = p["ids"].get<std::vector<int32_t>>();
    Session session(decoder, static_cast<int64_t>(ids.size()) + 1);
    session.set_router(&*c.router);
    std::vector<LayerReport> layers;
    session.prefill(ids, plan, [&](const LayerReport& r) { layers.push_back(r); });
    ASSERT_EQ(layers.size(), p["layers"].size()) << c.name;
    for (std::size_t l = 0; l < layers.size(); ++l) {
      const std::string where = c.name + " prompt of " + std::to_string(ids.size()) + " layer " + std::to_string(l);
      ASSERT_EQ(layers[l].router_logits.size(), p["layers"][l]["logits"].size()) << where;
      check(where, layers[l], p["layers"][l]);
    }
  }
}

}  // namespace flux::test
