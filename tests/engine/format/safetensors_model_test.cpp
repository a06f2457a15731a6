// SafetensorsModel: single-file and sharded directories, and every index.json rejection.
#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "tests/engine/support/error_of.h"
#include "engine/core/error.h"
#include "engine/format/safetensors_file.h"
#include "engine/format/tensor_convert.h"
#include "tests/engine/support/safetensors_test_files.h"

namespace flux::engine {
namespace {

namespace fs = std::filesystem;
using flux::test::F32Tensor;
using flux::test::write_f32_safetensors;

using flux::test::error_of;

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = flux::test::test_temp_dir() / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Two shards: x and y in shard 1, z in shard 2.
fs::path sharded_model(const std::string& name, const std::string& weight_map) {
  const fs::path dir = fresh_dir(name);
  write_f32_safetensors(dir / "model-00001-of-00002.safetensors", {{"x", {2}, {1, 2}}, {"y", {1}, {3}}});
  write_f32_safetensors(dir / "model-00002-of-00002.safetensors", {{"z", {1, 1}, {4}}});
  write_text(dir / "model.safetensors.index.json",
             R"({"metadata": {"total_size": 16}, "weight_map": )" + weight_map + "}");
  return dir;
}

const std::string kGoodMap = R"({"x": "model-00001-of-00002.safetensors", "y": "model-00001-of-00002.safetensors",
                                 "z": "model-00002-of-00002.safetensors"})";

TEST(SafetensorsModel, SingleFileAndDirectory) {
  const fs::path dir = fresh_dir("single_model");
  write_f32_safetensors(dir / "model.safetensors", {{"w", {2, 2}, {1, 2, 3, 4}}});
  for (const fs::path& p : {dir, dir / "model.safetensors"}) {
    const SafetensorsModel m = SafetensorsModel::open(p);
    ASSERT_EQ(m.tensors().size(), 1u);
    EXPECT_EQ(to_f32(m.tensor("w")), (std::vector<float>{1, 2, 3, 4}));
  }
  EXPECT_ERROR(error_of([] { SafetensorsModel::open(fresh_dir("empty_model")); }),
               "neither model.safetensors nor model.safetensors.index.json found");
}

TEST(SafetensorsModel, ShardedIndex) {
  const SafetensorsModel m = SafetensorsModel::open(sharded_model("sharded", kGoodMap));
  EXPECT_EQ(m.shards().size(), 2u);
  EXPECT_EQ(m.tensors().size(), 3u);
  EXPECT_EQ(m.metadata().at("total_size"), "16");
  EXPECT_EQ(to_f32(m.tensor("z")), (std::vector<float>{4}));
  EXPECT_EQ(m.tensor("x").shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(m.find_tensor("missing"), nullptr);
  EXPECT_ERROR(error_of([&] { m.tensor("missing"); }), "no tensor named 'missing'");
}

TEST(SafetensorsModel, RejectsPathsOutsideTheDirectory) {
  EXPECT_ERROR(error_of([] { SafetensorsModel::open(sharded_model("dotdot", R"({"x": "../evil.safetensors"})")); }),
               "tensor x: shard path '../evil.safetensors' escapes the model directory");
  EXPECT_ERROR(
      error_of([] { SafetensorsModel::open(sharded_model("inner_dotdot", R"({"x": "a/../../e.safetensors"})")); }),
      "escapes the model directory");
  EXPECT_ERROR(error_of([] { SafetensorsModel::open(sharded_model("absolute", R"({"x": "/etc/passwd"})")); }),
               "shard path '/etc/passwd' must be relative");
  // A symlink inside the directory that points outside it.
  const fs::path dir = sharded_model("symlink", R"({"x": "link.safetensors"})");
  const fs::path outside = fresh_dir("symlink_target") / "t.safetensors";
  write_f32_safetensors(outside, {{"x", {1}, {1}}});
  fs::create_symlink(outside, dir / "link.safetensors");
  EXPECT_ERROR(error_of([&] { SafetensorsModel::open(dir); }), "resolves outside the model directory");
}

TEST(SafetensorsModel, IndexErrors) {
  EXPECT_ERROR(error_of([] { SafetensorsModel::open(sharded_model("missing_shard", R"({"x": "nope.safetensors"})")); }),
               "tensor x: shard file");
  EXPECT_ERROR(
      error_of([] {
        SafetensorsModel::open(sharded_model("missing_tensor", R"({"q": "model-00002-of-00002.safetensors"})"));
      }),
      "tensor q is listed in");
  EXPECT_ERROR(error_of([] { SafetensorsModel::open(sharded_model("no_map", R"(5)")); }),
               "missing \"weight_map\" object");
  EXPECT_ERROR(error_of([] { SafetensorsModel::open(sharded_model("bad_value", R"({"x": 3})")); }),
               "tensor x: shard file name is not a string");
  const fs::path dir = sharded_model("dup", R"({"x": "model-00001-of-00002.safetensors", "z": "b.safetensors"})");
  write_f32_safetensors(dir / "b.safetensors", {{"x", {1}, {9}}, {"z", {1}, {9}}});
  EXPECT_ERROR(error_of([&] { SafetensorsModel::open(dir); }), "tensor x appears in both");
  const fs::path bad_json = fresh_dir("bad_json");
  write_text(bad_json / "model.safetensors.index.json", "{nope");
  EXPECT_ERROR(error_of([&] { SafetensorsModel::open(bad_json); }), "model.safetensors.index.json: not a JSON object");
}

}  // namespace
}  // namespace flux::engine
