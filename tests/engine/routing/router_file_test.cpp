// Router files: save/load round trip, every loader validation error, and an authors'-style HF checkpoint that
// carries mask_allocator tensors and routes with no extra file.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/format/safetensors_file.h"
#include "engine/format/safetensors_writer.h"
#include "engine/format/tensor_convert.h"
#include "engine/routing/router_file.h"
#include "tests/engine/routing/router_test_util.h"
#include "tests/engine/support/error_of.h"

namespace flux::engine {
namespace {

using test::error_of;

struct OwnedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> values;
};

void write_tensors(const std::filesystem::path& path, const std::vector<OwnedTensor>& tensors,
                   const std::map<std::string, std::string>& metadata) {
  std::vector<SafetensorsEntry> entries;
  for (const auto& t : tensors)
    entries.push_back({t.name, StorageType::F32, t.shape, std::as_bytes(std::span<const float>(t.values))});
  write_safetensors(path, entries, metadata);
}

// Our router's tensors under `prefix` names, for hand-broken files.
std::vector<OwnedTensor> router_tensors(const LayerRouter& r, const std::string& feat, const std::string& head,
                                        const std::string& layer_prefix) {
  std::vector<OwnedTensor> out;
  for (int l = 0; l < r.n_layers(); ++l) {
    const RouterLayerWeights& w = r.layers()[static_cast<std::size_t>(l)];
    const std::string p = fmt::format(fmt::runtime(layer_prefix), l);
    auto add = [&](const std::string& name, const RouterLinear& lin) {
      out.push_back({p + name + ".weight", {lin.out, lin.in}, lin.weight});
      out.push_back({p + name + ".bias", {lin.out}, lin.bias});
    };
    add(feat + ".0", w.feat0);
    add(feat + ".2", w.feat2);
    add(head + ".0", w.head0);
    add(head + ".2", w.head2);
    add(head + ".4", w.head4);
  }
  return out;
}

TEST(RouterFile, SaveLoadRoundTrip) {
  LayerRouter router = test::make_router(3, 2, 8);
  router.config().pooling = "all";
  router.config().sa_kind = "triangle";
  router.config().threshold = 0.6f;
  const auto path = test::router_temp_dir() / "round_trip.safetensors";
  save_router(router, path);
  const LayerRouter back = load_router(path);
  EXPECT_EQ(back.n_layers(), 3);
  EXPECT_EQ(back.config().pooling, "all");
  EXPECT_EQ(back.config().sa_kind, "triangle");
  EXPECT_FLOAT_EQ(back.config().threshold, 0.6f);
  EXPECT_EQ(back.config().n_kv_heads, 2);
  EXPECT_EQ(back.config().model, "test");
  uint32_t seed = 3;
  const std::vector<float> keys = test::lcg_values(4 * 16, seed, 1.0f);
  for (int l = 0; l < 3; ++l)
    EXPECT_FLOAT_EQ(back.decide(l, keys.data(), 4, 2, 8).logit, router.decide(l, keys.data(), 4, 2, 8).logit);
}

TEST(RouterFile, LoaderValidationErrors) {
  const LayerRouter router = test::make_router(2, 2, 8);
  const auto dir = test::router_temp_dir();
  const std::string meta = router_config_json(router.config()).dump();
  const auto good = router_tensors(router, "feat", "head", "layers.{}.");
  auto load_with = [&](std::vector<OwnedTensor> tensors, std::map<std::string, std::string> metadata) {
    const auto path = dir / "broken.safetensors";
    write_tensors(path, tensors, metadata);
    return error_of([&] { load_router(path); });
  };
  EXPECT_ERROR(load_with(good, {}), "no 'flux_router' metadata");
  EXPECT_ERROR(load_with(good, {{"flux_router", "{not json"}}), "not valid JSON");
  EXPECT_ERROR(load_with(good, {{"flux_router", R"({"n_layers": 2})"}}), "lacks 'head_dim'");
  EXPECT_ERROR(load_with(good, {{"flux_router", R"({"n_layers": "two", "head_dim": 8})"}}), "'n_layers'");
  auto missing = good;
  missing.erase(missing.begin() + 3);  // layers.0.feat.2.bias
  EXPECT_ERROR(load_with(missing, {{"flux_router", meta}}), "'layers.0.feat.2.bias' is missing");
  auto bad_bias = good;
  bad_bias[1].shape = {16};
  bad_bias[1].values.resize(16);
  EXPECT_ERROR(load_with(bad_bias, {{"flux_router", meta}}), "'layers.0.feat.0.bias' has shape [16]");
  auto wide = router_tensors(test::make_router(2, 2, 4), "feat", "head", "layers.{}.");
  EXPECT_ERROR(load_with(wide, {{"flux_router", meta}}), "router layer 0 feat.0: shape [16, 4], expected");
  auto extra = router_tensors(test::make_router(3, 2, 8), "feat", "head", "layers.{}.");
  EXPECT_ERROR(load_with(extra, {{"flux_router", meta}}), "more than n_layers");
  auto softmax = good;
  softmax[8] = {"layers.0.head.4.weight", {2, 8}, std::vector<float>(16, 0.0f)};
  softmax[9] = {"layers.0.head.4.bias", {2}, {0.0f, 0.0f}};
  EXPECT_ERROR(load_with(softmax, {{"flux_router", meta}}), "1-output head");
  EXPECT_ERROR(error_of([&] { load_router(dir / "absent.safetensors"); }), "absent.safetensors");

  ModelConfig model;
  model.n_layers = 3;
  model.head_dim = 8;
  model.n_kv_heads = 2;
  EXPECT_ERROR(error_of([&] { check_router_matches(router, model); }), "router has 2 layers, the model has 3");
  model.n_layers = 2;
  model.head_dim = 16;
  EXPECT_ERROR(error_of([&] { check_router_matches(router, model); }), "head_dim 8");
  model.head_dim = 8;
  model.n_kv_heads = 4;
  EXPECT_ERROR(error_of([&] { check_router_matches(router, model); }), "KV heads");
}

// tiny_llama's tensors plus the authors' mask_allocator tensors, with Flux config keys, in a temp HF directory.
std::filesystem::path write_checkpoint(const LayerRouter& router, const nlohmann::json& extra_config,
                                       const std::string& name, bool drop_one = false) {
  const std::string src = std::string(FLUX_TEST_DATA_DIR) + "/tiny_llama";
  const auto dir = test::router_temp_dir() / name;
  std::filesystem::create_directories(dir);
  std::vector<OwnedTensor> tensors;
  const SafetensorsFile base(src + "/model.safetensors");
  for (const TensorView& t : base.tensors()) tensors.push_back({t.name, t.shape, to_f32(t)});
  auto routers = router_tensors(router, "cls_feat_extractor", "cls_router_head_agnostic",
                                "model.layers.{}.self_attn.mask_allocator.");
  if (drop_one) routers.pop_back();
  tensors.insert(tensors.end(), routers.begin(), routers.end());
  write_tensors(dir / "model.safetensors", tensors, {{"format", "pt"}});
  std::ifstream in(src + "/config.json");
  nlohmann::json config = nlohmann::json::parse(in);
  config.update(extra_config);
  std::ofstream(dir / "config.json") << config.dump(2);
  return dir;
}

TEST(RouterCheckpoint, AuthorsTensorsRouteWithoutExtraFiles) {
  const LayerRouter router = test::make_router(3, 2, 16);
  const auto dir = write_checkpoint(router, {{"toggle_type", "triangle"}, {"sink_size", 64}, {"local_window_size", 256},
                                             {"triangle_n_last", 32}, {"pooling_mode", "first_token"}}, "hf_router");
  const ModelFiles files = ModelFiles::open(dir);
  std::ifstream in(dir / "config.json");
  const nlohmann::json hf = nlohmann::json::parse(in);
  const std::optional<LayerRouter> loaded = router_from_checkpoint(files, &hf);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->config().sa_kind, "triangle");
  EXPECT_EQ(loaded->config().sink, 64);
  EXPECT_EQ(loaded->config().window, 256);
  EXPECT_EQ(loaded->config().n_last, 32);
  EXPECT_EQ(loaded->config().pooling, "first_token");
  uint32_t seed = 5;
  const std::vector<float> keys = test::lcg_values(6 * 32, seed, 1.0f);
  RouterConfig first = router.config();
  first.pooling = "first_token";
  const LayerRouter expect(first, router.layers());
  for (int l = 0; l < 3; ++l)
    EXPECT_FLOAT_EQ(loaded->decide(l, keys.data(), 6, 2, 16).logit, expect.decide(l, keys.data(), 6, 2, 16).logit);
  const AttentionPlan sparse = router_sparse_plan(loaded->config());
  EXPECT_EQ(sparse.mode, AttentionMode::Triangle);
}

TEST(RouterCheckpoint, PoolingModeMappingAndErrors) {
  const LayerRouter router = test::make_router(3, 2, 16);
  const auto dir = write_checkpoint(router, nlohmann::json::object(), "hf_router_plain");
  const ModelFiles files = ModelFiles::open(dir);
  for (const auto& [mode, ours] : std::vector<std::pair<std::string, std::string>>{
           {"first_token", "first_token"}, {"q", "last"}, {"ctx_q", "boundary"}}) {
    const nlohmann::json hf = {{"pooling_mode", mode}};
    EXPECT_EQ(router_from_checkpoint(files, &hf)->config().pooling, ours);
  }
  EXPECT_EQ(router_from_checkpoint(files, nullptr)->config().pooling, "boundary");
  const nlohmann::json bad_pool = {{"pooling_mode", "mean"}};
  EXPECT_ERROR(error_of([&] { router_from_checkpoint(files, &bad_pool); }), "pooling_mode = 'mean'");
  const nlohmann::json bad_kind = {{"toggle_type", "none"}};
  EXPECT_ERROR(error_of([&] { router_from_checkpoint(files, &bad_kind); }), "toggle_type = 'none'");

  const auto partial = write_checkpoint(router, nlohmann::json::object(), "hf_router_partial", true);
  const ModelFiles partial_files = ModelFiles::open(partial);
  EXPECT_ERROR(error_of([&] { router_from_checkpoint(partial_files, nullptr); }),
               "'model.layers.2.self_attn.mask_allocator.cls_router_head_agnostic.4.bias' is missing");

  const ModelFiles plain = ModelFiles::open(std::string(FLUX_TEST_DATA_DIR) + "/tiny_llama");
  EXPECT_FALSE(router_from_checkpoint(plain, nullptr).has_value());
}

}  // namespace
}  // namespace flux::engine
