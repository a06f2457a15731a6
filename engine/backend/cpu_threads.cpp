#include "engine/backend/cpu_threads.h"

#include <sched.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

namespace flux::engine {
namespace {

std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  }
  if (cpus.empty()) {
    const int n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int c = 0; c < n; ++c) cpus.push_back(c);
  }
  return cpus;
}

// cgroup v2 "max 100000" or "200000 100000": the quota in cores (0: none).
double cgroup_quota_cores() {
  std::ifstream f("/sys/fs/cgroup/cpu.max");
  std::string quota;
  double period = 0;
  if (!(f >> quota >> period) || quota == "max" || period <= 0) return 0.0;
  return std::atof(quota.c_str()) / period;
}

struct CpuTimes {
  unsigned long long idle = 0, total = 0;
};

// Per-cpu idle (idle + iowait) and total jiffies from /proc/stat, indexed by cpu number.
std::vector<CpuTimes> read_cpu_times() {
  std::ifstream f("/proc/stat");
  std::vector<CpuTimes> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || line[3] < '0' || line[3] > '9') continue;
    std::istringstream in(line.substr(3));
    int cpu = -1;
    in >> cpu;
    unsigned long long v[8] = {};
    for (auto& x : v) in >> x;
    if (cpu < 0) continue;
    if (static_cast<int>(out.size()) <= cpu) out.resize(static_cast<std::size_t>(cpu) + 1);
    out[static_cast<std::size_t>(cpu)].idle = v[3] + v[4];
    for (auto x : v) out[static_cast<std::size_t>(cpu)].total += x;
  }
  return out;
}

}  // namespace

int usable_cpu_cores() {
  int n = static_cast<int>(allowed_cpus().size());
  const double quota = cgroup_quota_cores();
  if (quota > 0) n = std::min(n, std::max(1, static_cast<int>(std::ceil(quota - 0.05))));
  return n;
}

double idle_cpu_cores(int sample_ms) {
  const std::vector<int> cpus = allowed_cpus();
  const std::vector<CpuTimes> a = read_cpu_times();
  std::this_thread::sleep_for(std::chrono::milliseconds(sample_ms));
  const std::vector<CpuTimes> b = read_cpu_times();
  double idle = 0.0;
  int seen = 0;
  for (const int c : cpus) {
    const auto i = static_cast<std::size_t>(c);
    if (i >= a.size() || i >= b.size() || b[i].total <= a[i].total) continue;
    idle += static_cast<double>(b[i].idle - a[i].idle) / static_cast<double>(b[i].total - a[i].total);
    ++seen;
  }
  return seen == 0 ? -1.0 : idle;
}

CpuThreadChoice choose_cpu_threads(int requested) {
  CpuThreadChoice c;
  c.usable_cores = usable_cpu_cores();
  c.threads = requested > 0 ? requested : c.usable_cores;
  c.reason = requested > 0 ? fmt::format("{} threads as requested ({} usable cores)", requested, c.usable_cores)
                           : fmt::format("{} threads: every usable core (-t N to choose)", c.threads);
  if (!openmp_waits_passively() && c.threads > 1)
    c.reason += "; OpenMP workers spin (OMP_WAIT_POLICY is not passive): slow when other programs keep a core busy";
  return c;
}

bool openmp_waits_passively() {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  return (policy != nullptr && strcasecmp(policy, "passive") == 0) || (spin != nullptr && std::atoll(spin) == 0 &&
                                                                       spin[0] == '0');
}

void restart_with_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Still here: the variable stays set for any child; this process keeps libgomp's default.
}

}  // namespace flux::engine
