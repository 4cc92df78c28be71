// LagTracker: how far the standby is behind the primary, in revisions and in seconds.
//
// revisions = the primary's newest known revision - the last applied revision;
// seconds   = now - when the oldest unapplied revision was first seen (0 when caught up).
// Each increase of the known primary revision is remembered with the time it was seen; at
// most kMaxLagSamples are kept (beyond, the newest sample absorbs the new revision and
// keeps its older time, so seconds never under-reports).
//
// Thread-safety: none; the owner serialises calls. Times are passed in (testable).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>

namespace grid::mas::mirror {

inline constexpr size_t kMaxLagSamples = 1024;

struct Lag {
  int64_t primary_revision = 0;  // newest primary revision known
  int64_t applied_revision = 0;  // last primary revision applied to the standby
  int64_t revisions = 0;
  double seconds = 0;
  friend bool operator==(const Lag&, const Lag&) = default;
};

class LagTracker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // The primary is known to be at `revision` (ignored when not newer than known).
  void SeenPrimary(int64_t revision, TimePoint now);
  // Everything up to `revision` is on the standby.
  void Applied(int64_t revision);
  Lag Get(TimePoint now) const;
  size_t samples() const { return samples_.size(); }

 private:
  struct Sample {
    int64_t revision;
    TimePoint seen;
  };
  int64_t primary_ = 0;
  int64_t applied_ = 0;
  std::deque<Sample> samples_;  // increasing revisions, all > applied_
};

}  // namespace grid::mas::mirror
