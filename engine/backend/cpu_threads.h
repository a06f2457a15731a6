// How many threads the CPU backend runs, and OpenMP workers that sleep instead of spinning against a busy core.
// A desktop shares its cores with other programs: a worker that waits for a core another process holds stalls every
// parallel region of a decode step (each ends in a barrier), so the thread count follows the cores that are free.
#pragma once

#include <string>

namespace flux::engine {

struct CpuThreadChoice {
  int threads = 1;
  int usable_cores = 1;     // cores this process may run on (affinity mask, cgroup CPU quota)
  double idle_cores = 0.0;  // of those, how many were idle during a short sample (-1: not measured)
  std::string reason;       // one line for the log and device_name()
};

// Cores this process may run on: sched_getaffinity, capped by a cgroup v2 cpu.max quota.
int usable_cpu_cores();

// Idle core-equivalents among the usable cores over `sample_ms` milliseconds (from /proc/stat; -1 if unreadable).
double idle_cpu_cores(int sample_ms);

// requested > 0: exactly that many. 0: the idle cores (rounded, at least 1, at most the usable cores), so that with
// one of two cores kept busy by another program we run one thread, not two that wait on each other.
CpuThreadChoice choose_cpu_threads(int requested);

// libgomp reads OMP_WAIT_POLICY / GOMP_SPINCOUNT in a load-time constructor, before main(), and its default spins a
// waiting worker for ~300k iterations — on a core another process needs, that spinning thread is then descheduled
// when the next region starts. Unless the user set either variable, this re-executes the program once with a short
// spin (GOMP_SPINCOUNT, see the .cpp); call it first thing in main(). Returns normally when nothing is to be done or
// the re-exec failed.
void restart_with_short_openmp_spin(char** argv);

}  // namespace flux::engine
