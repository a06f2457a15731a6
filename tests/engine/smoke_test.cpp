#include <gtest/gtest.h>
#include "engine/core/error.h"
TEST(Smoke, ErrorCarriesMessage) {
  try { flux::engine::fail("x {}", 1); FAIL(); } catch (const flux::engine::Error& e) { EXPECT_STREQ(e.what(), "x 1"); }
}
