#include "engine/backend/cpu_threads.h"

#include <sched.h>
#include <sys/resource.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
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

int automatic_cpu_threads(int usable_cores, double others_busy_cores) {
  const double left = static_cast<double>(usable_cores) - std::max(0.0, others_busy_cores);
  return std::clamp(static_cast<int>(std::floor(left + 0.5)), 1, std::max(1, usable_cores));
}

bool look_at_cpus(CpuLook& out) {
  const std::vector<CpuTimes> t = read_cpu_times();
  const long hz = sysconf(_SC_CLK_TCK);
  if (t.empty() || hz <= 0) return false;
  unsigned long long busy = 0;
  for (const int c : allowed_cpus()) {
    const auto i = static_cast<std::size_t>(c);
    if (i < t.size()) busy += t[i].total - t[i].idle;
  }
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) != 0) return false;
  out.busy_s = static_cast<double>(busy) / static_cast<double>(hz);
  out.self_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               1e-6 * static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  return true;
}

double others_busy_between(const CpuLook& earlier, const CpuLook& later, int min_interval_ms) {
  const double dt = later.wall_s - earlier.wall_s;
  if (dt <= 0 || dt * 1000.0 < min_interval_ms) return -1.0;
  return std::max(0.0, (later.busy_s - earlier.busy_s) - (later.self_s - earlier.self_s)) / dt;
}

CoreLoadProbe::CoreLoadProbe() { valid_ = look_at_cpus(last_); }

double CoreLoadProbe::others_busy_cores(int min_interval_ms) {
  CpuLook now;
  if (!look_at_cpus(now)) return -1.0;
  if (!valid_) {
    last_ = now, valid_ = true;
    return -1.0;
  }
  const double others = others_busy_between(last_, now, min_interval_ms);
  if (others >= 0) last_ = now;
  return others;
}

CpuThreadChoice choose_cpu_threads(int requested, int sample_ms) {
  CpuThreadChoice c;
  c.usable_cores = usable_cpu_cores();
  if (requested > 0) {
    c.threads = requested;
    c.reason = fmt::format("{} threads as requested ({} usable cores)", requested, c.usable_cores);
  } else {
    CoreLoadProbe probe;
    std::this_thread::sleep_for(std::chrono::milliseconds(sample_ms));
    const double others = probe.others_busy_cores(0);
    c.threads = others < 0 ? c.usable_cores : automatic_cpu_threads(c.usable_cores, others);
    c.reason = others < 0 ? fmt::format("{} threads: every usable core (-t N to choose)", c.threads)
                          : fmt::format("{} threads: {} usable cores, {:.1f} kept busy by other programs (-t N to choose)",
                                        c.threads, c.usable_cores, others);
  }
  if (openmp_spin_count() > 10 * kShortOpenmpSpin && c.threads > 1)
    c.reason += fmt::format("; OpenMP workers spin {} iterations (GOMP_SPINCOUNT / OMP_WAIT_POLICY): slow when other "
                            "programs keep a core busy", openmp_spin_count());
  return c;
}

long long openmp_spin_count() {
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  if (spin != nullptr && *spin != '\0') {
    if (strcasecmp(spin, "infinite") == 0 || strcasecmp(spin, "infinity") == 0) return LLONG_MAX;
    return std::max(0LL, std::atoll(spin));
  }
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  if (policy != nullptr && strcasecmp(policy, "passive") == 0) return 0;
  if (policy != nullptr && strcasecmp(policy, "active") == 0) return 30000000000LL;
  return 300000;
}

void restart_with_short_openmp_spin(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  if (setenv("GOMP_SPINCOUNT", std::to_string(kShortOpenmpSpin).c_str(), 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Still here: the variable stays set for any child; this process keeps libgomp's default.
}

}  // namespace flux::engine
