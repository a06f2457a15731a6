// The CPU thread policy: -t N is N, -t 0 is every usable core, and the probes stay within what the process may use.
#include <gtest/gtest.h>

#include <sched.h>

#include <string>
#include <thread>

#include "engine/backend/cpu_threads.h"

namespace flux::engine {
namespace {

int affinity_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return static_cast<int>(std::thread::hardware_concurrency());
  return CPU_COUNT(&set);
}

TEST(CpuThreads, RequestedCountIsHonouredExactly) {
  for (int n : {1, 2, 3, 7}) {
    const CpuThreadChoice c = choose_cpu_threads(n);
    EXPECT_EQ(c.threads, n);
    EXPECT_NE(c.reason.find(std::to_string(n) + " threads"), std::string::npos) << c.reason;
  }
}

TEST(CpuThreads, AutomaticCountIsEveryUsableCore) {
  const int usable = usable_cpu_cores();
  EXPECT_GE(usable, 1);
  EXPECT_LE(usable, affinity_cores());
  const CpuThreadChoice c = choose_cpu_threads(0);
  EXPECT_EQ(c.threads, usable);
  EXPECT_EQ(c.usable_cores, usable);
}

TEST(CpuThreads, IdleCoresAreWithinTheUsableOnes) {
  const double idle = idle_cpu_cores(50);
  if (idle < 0) GTEST_SKIP() << "/proc/stat unreadable here";
  EXPECT_GE(idle, 0.0);
  EXPECT_LE(idle, affinity_cores() + 1e-9);
}

}  // namespace
}  // namespace flux::engine
