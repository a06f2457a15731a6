// Checks that need the plain build: AddressSanitizer reserves terabytes of shadow address space (an RLIMIT_AS
// limit makes it abort at start) and takes SIGBUS/SIGSEGV itself. Under ASan such a test is reported as skipped.
#pragma once

#include <gtest/gtest.h>

#if defined(__SANITIZE_ADDRESS__)
#define FLUX_SKIP_UNDER_ASAN(why) GTEST_SKIP() << "under AddressSanitizer: " << (why)
#else
#define FLUX_SKIP_UNDER_ASAN(why) \
  do {                            \
  } while (0)
#endif
