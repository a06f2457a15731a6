// Test helper: the message of the flux::engine::Error a callable throws, and a check that it names the expected fault.
#pragma once

#include <functional>
#include <string>

#include "engine/core/error.h"

namespace flux::test {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const flux::engine::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace flux::test

#define EXPECT_ERROR(message, phrase) EXPECT_NE((message).find(phrase), std::string::npos) << (message)
