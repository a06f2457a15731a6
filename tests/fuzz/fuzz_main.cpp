// One libFuzzer binary per target (FLUX_FUZZ=ON): FLUX_FUZZ_TARGET names the entry in fuzz_entries.cpp.
#include <cstdio>
#include <cstdlib>

#include <spdlog/spdlog.h>

#include "tests/fuzz/fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const flux::fuzz::Target* target = [] {
    const auto* t = flux::fuzz::find_target(FLUX_FUZZ_TARGET);
    if (t == nullptr) {
      std::fprintf(stderr, "unknown fuzz target %s\n", FLUX_FUZZ_TARGET);
      std::abort();
    }
    return t;
  }();
  target->run({data, size});
  return 0;
}

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  spdlog::set_level(spdlog::level::off);  // parsers log warnings; at a million runs a second that is noise
  return 0;
}
