// Replays every committed fuzz input — the seed corpus (tests/fuzz/corpus/<target>/) and the inputs that once
// crashed, leaked or hit UB (tests/fuzz/regressions/<target>/) — through the same entry points the libFuzzer targets
// use, so CI checks them without libFuzzer; under tools/sanitize.sh the sanitizers check them too.
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "tests/fuzz/fuzz_entries.h"

namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<fs::path> inputs_of(const std::string& kind, std::string_view target) {
  std::vector<fs::path> out;
  const fs::path dir = fs::path(FLUX_FUZZ_DIR) / kind / target;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().filename() != "README.md") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

class FuzzReplay : public ::testing::TestWithParam<flux::fuzz::Target> {
 protected:
  static void SetUpTestSuite() { spdlog::set_level(spdlog::level::off); }
};

TEST_P(FuzzReplay, SeedCorpusRunsCleanly) {
  const auto seeds = inputs_of("corpus", GetParam().name);
  ASSERT_FALSE(seeds.empty()) << "no seeds for " << GetParam().name;
  for (const auto& path : seeds) {
    SCOPED_TRACE(path.string());
    const auto bytes = read_bytes(path);
    EXPECT_NO_THROW(GetParam().run(bytes));
  }
}

TEST_P(FuzzReplay, RegressionInputsAreRejectedCleanly) {
  for (const auto& path : inputs_of("regressions", GetParam().name)) {
    SCOPED_TRACE(path.string());
    const auto bytes = read_bytes(path);
    EXPECT_NO_THROW(GetParam().run(bytes));  // anything but flux::engine::Error escapes and fails here
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzReplay, ::testing::ValuesIn(flux::fuzz::targets()),
                         [](const auto& test_info) { return std::string(test_info.param.name); });

}  // namespace
