#include "engine/core/mapping_guard.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace flux::engine {
namespace {

// Read by the signal handler: lock-free atomics only. A slot is live while begin != 0.
struct Slot {
  std::atomic<bool> claimed{false};
  std::atomic<std::uintptr_t> begin{0};
  std::atomic<std::size_t> size{0};
  std::atomic<int> fd{-1};
  std::atomic<bool> damaged{false};
};

constexpr int kSlots = 256;  // one per mapped model file or shard
Slot g_slots[kSlots];
std::uintptr_t g_page = 4096;
struct sigaction g_previous {};
std::once_flag g_installed;

// Hands a SIGBUS we do not own to whoever had it before (the default: the process dies with the signal).
void pass_on(int sig, siginfo_t* info, void* context) {
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(sig, info, context);
  } else if (g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
  } else {
    // Returning re-executes a faulting access, which then takes the default action; a sent signal is sent again.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigaction(SIGBUS, &dfl, nullptr);
    if (info->si_code <= 0) ::raise(sig);
  }
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  for (Slot& s : g_slots) {
    const std::uintptr_t begin = s.begin.load(std::memory_order_acquire);
    const std::size_t size = s.size.load(std::memory_order_relaxed);
    if (begin == 0 || addr < begin || addr >= begin + size) continue;
    // Zero pages from the file's new end (fstat is async-signal-safe) or, when the file did not shrink (an I/O
    // error), from the faulting page, to the end of the mapping: one signal per truncation, not one per page.
    std::uintptr_t from = addr & ~(g_page - 1);
    struct stat st {};
    if (::fstat(s.fd.load(std::memory_order_relaxed), &st) == 0 && st.st_size >= 0 &&
        static_cast<std::size_t>(st.st_size) < size) {
      const std::uintptr_t end_page = (begin + static_cast<std::size_t>(st.st_size)) & ~(g_page - 1);
      if (end_page < from) from = end_page;
    }
    void* p = ::mmap(reinterpret_cast<void*>(from), begin + size - from, PROT_READ,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (p == MAP_FAILED) break;
    s.damaged.store(true, std::memory_order_release);
    return;
  }
  pass_on(sig, info, context);
}

void install() {
  g_page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  struct sigaction sa {};
  sa.sa_sigaction = on_sigbus;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGBUS, &sa, &g_previous);
}

}  // namespace

int guard_mapping(const void* data, std::size_t size, int fd) {
  std::call_once(g_installed, install);
  for (int i = 0; i < kSlots; ++i) {
    Slot& s = g_slots[i];
    bool expected = false;
    if (!s.claimed.compare_exchange_strong(expected, true)) continue;
    s.size.store(size, std::memory_order_relaxed);
    s.fd.store(fd, std::memory_order_relaxed);
    s.damaged.store(false, std::memory_order_relaxed);
    s.begin.store(reinterpret_cast<std::uintptr_t>(data), std::memory_order_release);
    return i;
  }
  return -1;
}

void unguard_mapping(int slot) {
  if (slot < 0 || slot >= kSlots) return;
  Slot& s = g_slots[slot];
  s.begin.store(0, std::memory_order_release);
  s.fd.store(-1, std::memory_order_relaxed);
  s.claimed.store(false, std::memory_order_release);
}

bool mapping_damaged(int slot) {
  return slot >= 0 && slot < kSlots && g_slots[slot].damaged.load(std::memory_order_acquire);
}

}  // namespace flux::engine
