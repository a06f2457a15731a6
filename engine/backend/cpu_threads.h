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

// requested > 0: exactly that many. 0: every usable core. Measured on 2 cores with one kept busy by `yes` (and other
// builds running), passive workers with 2 threads decoded 2x faster than 1 thread: the scheduler shares a busy core
// per thread, a sleeping worker is woken promptly, and the dynamic schedules hand a slow thread's rows to the other.
// Fewer threads than cores only pays while workers spin, which restart_with_passive_openmp prevents.
CpuThreadChoice choose_cpu_threads(int requested);

// True when libgomp's waiting workers sleep instead of spinning (OMP_WAIT_POLICY=passive or GOMP_SPINCOUNT=0 in
// this process's environment at start).
bool openmp_waits_passively();

// libgomp reads OMP_WAIT_POLICY / GOMP_SPINCOUNT in a load-time constructor, before main(), and by default a waiting
// worker spins ~300k iterations: on a core another process holds, that spin uses up the worker's share, and the
// scheduler then keeps it off the core when the next parallel region starts, so every region of a decode step waits
// (2 threads, one core busy: 0.16 tok/s spinning vs 45 passive). Unless the user set either variable, this
// re-executes the program once with OMP_WAIT_POLICY=passive; call it first thing in main(). Returns normally when
// there is nothing to do or the re-exec failed.
void restart_with_passive_openmp(char** argv);

}  // namespace flux::engine
