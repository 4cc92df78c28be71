// The loops' clock: monotonic milliseconds and microseconds since an arbitrary start.
#pragma once

#include <time.h>

#include <cstdint>

namespace grid::router::net {

inline uint64_t MonotonicUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

inline uint64_t MonotonicMs() { return MonotonicUs() / 1000u; }

}  // namespace grid::router::net
