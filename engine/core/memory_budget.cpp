#include "engine/core/memory_budget.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

#include "engine/core/error.h"

namespace flux::engine {
namespace {

std::size_t mem_available() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::size_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return SIZE_MAX;
}

// RLIMIT_AS minus the address space in use (/proc/self/statm's first field, in pages).
std::size_t address_space_headroom() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return SIZE_MAX;
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0;
  if (!(statm >> pages)) return SIZE_MAX;
  const std::size_t used = pages * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  return limit.rlim_cur > used ? static_cast<std::size_t>(limit.rlim_cur) - used : 0;
}

double gib(std::size_t bytes) { return static_cast<double>(bytes) / static_cast<double>(std::size_t{1} << 30); }

}  // namespace

std::size_t available_memory_bytes() {
  const std::size_t a = mem_available(), b = address_space_headroom();
  return a < b ? a : b;
}

void require_memory(std::size_t bytes, std::string_view what) {
  const std::size_t available = available_memory_bytes();
  require(bytes <= available, "{} needs {:.2f} GiB, {:.2f} GiB available", what, gib(bytes), gib(available));
}

}  // namespace flux::engine
