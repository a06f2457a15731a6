// How many threads the CPU backend runs, and OpenMP workers that sleep instead of spinning against a busy core.
// A desktop shares its cores with other programs: a worker spinning on a core another process needs loses its turn
// when work arrives, and every parallel region of a decode step ends in a barrier that waits for it.
#pragma once

#include <string>

namespace flux::engine {

struct CpuThreadChoice {
  int threads = 1;
  int usable_cores = 1;  // cores this process may run on (affinity mask, cgroup CPU quota)
  std::string reason;    // one line for the log
};

// Cores this process may run on: sched_getaffinity, capped by a cgroup v2 cpu.max quota.
int usable_cpu_cores();

// Idle core-equivalents among the usable cores over `sample_ms` milliseconds (from /proc/stat; -1 if unreadable).
// The bench prints it next to its numbers: how busy the machine was.
double idle_cpu_cores(int sample_ms);

// The automatic thread count: the usable cores minus the core-equivalents other processes keep busy, rounded, at
// least 1. Measured on 2 cores (idle VM, one core kept busy by `yes`): 1 thread decoded 94.6 tok/s, 2 threads 75.7
// (the thread that shares the busy core holds every barrier of a step) — so a busy core is left to its owner.
int automatic_cpu_threads(int usable_cores, double others_busy_cores);

// One look at the machine: busy seconds (all but idle and iowait; steal included) summed over the usable cores, this
// process's own CPU seconds, and the wall clock. false when /proc/stat or getrusage cannot be read.
struct CpuLook {
  double busy_s = 0, self_s = 0, wall_s = 0;
};
bool look_at_cpus(CpuLook& out);

// Core-equivalents other processes kept busy between two looks: the cores' busy time minus our own, over the wall
// time (at least 0: /proc/stat counts clock ticks and rusage microseconds, so a short interval can come out slightly
// negative); -1 when less than `min_interval_ms` passed.
double others_busy_between(const CpuLook& earlier, const CpuLook& later, int min_interval_ms);

// What other processes did to the usable cores since the previous look. Reading it costs two small file reads, no
// waiting, so a run can ask before it starts; the interval is whatever passed since the previous look (the previous
// run included: our own threads' time is not counted).
class CoreLoadProbe {
 public:
  CoreLoadProbe();  // the first look
  // others_busy_between the previous look and now; -1 when unreadable or too soon (then the previous look stays the
  // start of the interval).
  double others_busy_cores(int min_interval_ms = 100);

 private:
  CpuLook last_;
  bool valid_ = false;
};

// requested > 0: exactly that many. 0: automatic_cpu_threads after a `sample_ms` look at the machine.
CpuThreadChoice choose_cpu_threads(int requested, int sample_ms = 100);

// The spin libgomp's waiting workers do before they sleep, from OMP_WAIT_POLICY / GOMP_SPINCOUNT in this process's
// environment at start: 0 when passive, libgomp's 300,000 (or more with OMP_WAIT_POLICY=active) when unset.
long long openmp_spin_count();
constexpr long long kShortOpenmpSpin = 1000;  // what restart_with_short_openmp_spin sets

// libgomp reads OMP_WAIT_POLICY / GOMP_SPINCOUNT in a load-time constructor, before main(). Its default spin (~300k
// iterations) uses up a worker's share of a core another process holds, and the scheduler then keeps it off the core
// when the next parallel region starts (2 threads, one core busy: 0.16 tok/s decode). Sleeping at once (passive) costs
// the other way: a decode step is ~1,000 short regions, and waking a sleeping worker for each made 2-thread decode on an
// idle 2-core VM 73.5 tok/s against 98.0 with a 1,000-iteration spin (a few microseconds: it bridges the gap between a
// step's regions and gives the core up soon after; 10,000 already made a busy machine 17 tok/s). Unless the user set
// either variable, this re-executes the program once with GOMP_SPINCOUNT=kShortOpenmpSpin; call it first thing in
// main(). A busy core is then best left alone altogether: the automatic thread count does (automatic_cpu_threads).
// Returns normally when there is nothing to do or the re-exec failed.
void restart_with_short_openmp_spin(char** argv);

}  // namespace flux::engine
