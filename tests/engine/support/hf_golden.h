// Test helper: a golden.json written by tools/golden/ from HF transformers — the prompt, the logits of every prompt
// position and the greedy continuation — read once for every test that compares a forward pass against it.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace flux::test {

struct HfGolden {
  std::vector<int32_t> prompt;
  std::vector<float> logits;  // [n, vocab]
  std::vector<int32_t> greedy;
};

// path: relative to tests/data, e.g. "tiny_llama/golden.json".
inline HfGolden read_hf_golden(const std::string& path) {
  std::ifstream f(std::string(FLUX_TEST_DATA_DIR) + "/" + path);
  EXPECT_TRUE(f.good()) << path;
  const auto j = nlohmann::json::parse(f);
  HfGolden g;
  g.prompt = j["prompt"].get<std::vector<int32_t>>();
  for (const auto& row : j["logits"])
    for (const auto& x : row) g.logits.push_back(x.get<float>());
  g.greedy = j["greedy"].get<std::vector<int32_t>>();
  return g;
}

}  // namespace flux::test
