#include "mas/mirror/lag.h"

#include <algorithm>

namespace grid::mas::mirror {

void LagTracker::SeenPrimary(int64_t revision, TimePoint now) {
  if (revision <= primary_) return;
  primary_ = revision;
  if (revision <= applied_) return;
  if (samples_.size() >= kMaxLagSamples) {
    samples_.back().revision = revision;
  } else {
    samples_.push_back({revision, now});
  }
}

void LagTracker::Applied(int64_t revision) {
  if (revision <= applied_) return;
  applied_ = revision;
  primary_ = std::max(primary_, revision);
  while (!samples_.empty() && samples_.front().revision <= revision) samples_.pop_front();
}

Lag LagTracker::Get(TimePoint now) const {
  Lag lag;
  lag.primary_revision = primary_;
  lag.applied_revision = applied_;
  lag.revisions = std::max<int64_t>(0, primary_ - applied_);
  if (!samples_.empty() && lag.revisions > 0) {
    lag.seconds = std::chrono::duration<double>(now - samples_.front().seen).count();
  }
  return lag;
}

}  // namespace grid::mas::mirror
