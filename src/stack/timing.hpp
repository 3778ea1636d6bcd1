#pragma once
// The stacks' one clock for Timings (stack.hpp): steady, in milliseconds.
#include <chrono>

namespace gatebox {

using StackClock = std::chrono::steady_clock;

inline double ms_between(StackClock::time_point a, StackClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace gatebox
