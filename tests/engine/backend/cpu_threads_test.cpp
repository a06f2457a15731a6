// The CPU thread policy: -t N is N, -t 0 leaves to other programs the cores they keep busy, and the probes stay
// within what the process may use.
#include <gtest/gtest.h>

#include <sched.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

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

TEST(CpuThreads, AutomaticCountLeavesBusyCoresToTheirOwners) {
  EXPECT_EQ(automatic_cpu_threads(2, 0.0), 2);
  EXPECT_EQ(automatic_cpu_threads(2, 0.4), 2);   // a little background work keeps both
  EXPECT_EQ(automatic_cpu_threads(2, 1.0), 1);   // one core busy (`yes`): one thread
  EXPECT_EQ(automatic_cpu_threads(2, 5.0), 1);   // never below one
  EXPECT_EQ(automatic_cpu_threads(4, 1.4), 3);
  EXPECT_EQ(automatic_cpu_threads(4, 1.6), 2);
  EXPECT_EQ(automatic_cpu_threads(8, -1.0), 8);  // an unknown load is no load
  EXPECT_EQ(automatic_cpu_threads(0, 0.0), 1);
}

TEST(CpuThreads, AutomaticCountIsWithinTheUsableCores) {
  const int usable = usable_cpu_cores();
  EXPECT_GE(usable, 1);
  EXPECT_LE(usable, affinity_cores());
  const CpuThreadChoice c = choose_cpu_threads(0, 50);
  EXPECT_GE(c.threads, 1);
  EXPECT_LE(c.threads, usable);
  EXPECT_EQ(c.usable_cores, usable);
  EXPECT_NE(c.reason.find("usable cores"), std::string::npos) << c.reason;
}

TEST(CpuThreads, OthersLoadIsTheCoresBusyTimeLessOurOwn) {
  const CpuLook a{10.0, 3.0, 100.0};
  EXPECT_DOUBLE_EQ(others_busy_between(a, {12.0, 4.5, 101.0}, 100), 0.5);  // 2 busy core-s, 1.5 of them ours
  EXPECT_DOUBLE_EQ(others_busy_between(a, {14.0, 3.0, 102.0}, 100), 2.0);  // all of it someone else's
  EXPECT_DOUBLE_EQ(others_busy_between(a, {11.0, 4.1, 101.0}, 100), 0.0);  // tick rounding below ours: 0, not < 0
  EXPECT_EQ(others_busy_between(a, {10.1, 3.0, 100.05}, 100), -1.0);      // 50 ms: too short to say
  EXPECT_EQ(others_busy_between(a, a, 0), -1.0);
}

TEST(CpuThreads, OurOwnBusyThreadIsNotSomeoneElsesLoad) {
  CpuLook before;
  if (!look_at_cpus(before)) GTEST_SKIP() << "/proc/stat unreadable here";
  CoreLoadProbe probe;
  // Keep every usable core busy with threads of this process for 300 ms.
  const int n = usable_cpu_cores();
  std::atomic<bool> stop{false};
  std::vector<std::thread> spinners;
  for (int i = 0; i < n; ++i)
    spinners.emplace_back([&stop] {
      volatile unsigned x = 0;
      while (!stop.load(std::memory_order_relaxed)) x = x + 1;
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  for (auto& t : spinners) t.join();
  CpuLook after;
  ASSERT_TRUE(look_at_cpus(after));
  const double ours = (after.self_s - before.self_s) / (after.wall_s - before.wall_s);
  const double others = probe.others_busy_cores(100);
  ASSERT_GE(others, 0.0);
  EXPECT_GT(ours, 0.3);  // the spinners ran (the test would prove nothing otherwise)
  // The cores were at most fully busy: what is not ours is at most the rest (a tick of slack per core).
  EXPECT_LE(others + ours, n + 0.05 * n + 0.2) << "ours " << ours << ", others " << others;
  EXPECT_LE(probe.others_busy_cores(1000), -1.0 + 1e-12);  // just looked: too soon
}

TEST(CpuThreads, IdleCoresAreWithinTheUsableOnes) {
  const double idle = idle_cpu_cores(50);
  if (idle < 0) GTEST_SKIP() << "/proc/stat unreadable here";
  EXPECT_GE(idle, 0.0);
  EXPECT_LE(idle, affinity_cores() + 1e-9);
}

}  // namespace
}  // namespace flux::engine
