// Allocations sized by the user's numbers: a size check says "needs N GiB, M GiB available" before a big
// allocation, and per-thread buffers are sized by the work, not by a parameter (an XAttention block of 16M tokens on
// a 7-token prompt asked each thread for 4 GB and aborted with std::bad_alloc).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cmath>
#include <cstdlib>
#include <vector>

#include "engine/attention/attention_plan.h"
#include "engine/attention/xattention.h"
#include "engine/core/memory_budget.h"
#include "engine/runtime/engine.h"
#include "tests/engine/support/error_of.h"
#include "tests/engine/support/skip_under_asan.h"

namespace flux::engine {
namespace {

using flux::test::error_of;

// Death-test children: each sets its limit, runs, and exits 0 when what it checked held.
[[noreturn]] void available_under_8gb_limit() {
  rlimit limit{std::size_t{8} << 30, std::size_t{8} << 30};
  ::setrlimit(RLIMIT_AS, &limit);
  std::exit(available_memory_bytes() < (std::size_t{8} << 30) ? 0 : 1);
}

[[noreturn]] void xattention_under_2gb_limit() {
  rlimit limit{std::size_t{2} << 30, std::size_t{2} << 30};
  ::setrlimit(RLIMIT_AS, &limit);
  const int n = 7, heads = 2, d = 8;
  std::vector<float> q(static_cast<std::size_t>(n * heads * d), 0.5f), k(q.size(), 0.25f);
  AttentionPlan plan;
  plan.mode = AttentionMode::XAttention;
  plan.block = 16'000'000;
  plan.stride = 16;
  const std::vector<float> s = xattention_block_scores(q.data(), k.data(), n, heads, heads, d, plan);
  // One block: all of each head's attention mass is in it.
  const bool ok = s.size() == 2 && std::abs(s[0] - 1.0f) < 1e-5f && std::abs(s[1] - 1.0f) < 1e-5f;
  std::exit(ok ? 0 : 1);
}

[[noreturn]] void random_8b_under_3gb_limit() {
  rlimit limit{std::size_t{3} << 30, std::size_t{3} << 30};
  ::setrlimit(RLIMIT_AS, &limit);
  EngineOptions options;
  options.random_weights = "llama3.1-8b";
  options.backend = "cpu";
  options.threads = 1;
  const std::string e = error_of([&] { (void)Engine::load({}, options); });
  std::exit(e.find("random weights (llama3.1-8b), stored as F32, needs ") != std::string::npos &&
                    e.find("GiB available") != std::string::npos
                ? 0
                : 1);
}

TEST(AllocationLimits, RequireMemoryNamesTheNeedAndWhatIsAvailable) {
  const std::size_t available = available_memory_bytes();
  ASSERT_GT(available, std::size_t{0});
  EXPECT_NO_THROW(require_memory(1 << 20, "one MiB"));
  const std::string e = error_of([] { require_memory(std::size_t{1} << 62, "the KV cache for 9 tokens"); });
  EXPECT_ERROR(e, "the KV cache for 9 tokens needs 4294967296.00 GiB, ");
  EXPECT_ERROR(e, " GiB available");
}

TEST(AllocationLimits, AnAddressSpaceLimitLowersWhatIsAvailable) {
  FLUX_SKIP_UNDER_ASAN("an address-space limit leaves no room for its shadow memory");
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: no OpenMP pool forked
  EXPECT_EXIT(available_under_8gb_limit(), ::testing::ExitedWithCode(0), "");
}

TEST(AllocationLimits, XAttentionBuffersAreSizedByThePromptNotTheBlock) {
  FLUX_SKIP_UNDER_ASAN("an address-space limit leaves no room for its shadow memory");
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: no OpenMP pool forked
  // Under a 2 GB address space (the old per-thread buffers of block 16M were 4 GB each) the scores still come out.
  EXPECT_EXIT(xattention_under_2gb_limit(), ::testing::ExitedWithCode(0), "");
}

TEST(AllocationLimits, RandomEightBWeightsAreRefusedBySizeUnderALimit) {
  FLUX_SKIP_UNDER_ASAN("an address-space limit leaves no room for its shadow memory");
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: no OpenMP pool forked
  EXPECT_EXIT(random_8b_under_3gb_limit(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace flux::engine
