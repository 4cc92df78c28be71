// Capped exponential backoff: min, 2*min, 4*min, ... up to max, then max until Reset().
// Plain value; one thread.
#pragma once

#include <chrono>

#include "common/check.h"

namespace grid::router::watch {

class Backoff {
 public:
  // REQUIRES: 0 < min <= max.
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max)
      : min_(min), max_(max), next_(min) {
    GRID_CHECK(min.count() > 0 && min <= max) << "backoff needs 0 < min <= max";
  }

  // The wait before the next attempt; the one after it is doubled, up to max.
  std::chrono::milliseconds Next() {
    const auto wait = next_;
    next_ = next_ >= max_ / 2 ? max_ : next_ * 2;
    return wait;
  }
  // After a success: the next wait is min again.
  void Reset() { next_ = min_; }

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds next_;
};

}  // namespace grid::router::watch
