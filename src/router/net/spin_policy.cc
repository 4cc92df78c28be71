#include "router/net/spin_policy.h"

#include <string>

#include "common/check.h"

namespace grid::router::net {

Status CheckSpinBeforeWaitUs(uint32_t window_us) {
  if (window_us <= kMaxSpinBeforeWaitUs) return Status::Ok();
  return InvalidArgument("spin before wait must be 0.." + std::to_string(kMaxSpinBeforeWaitUs) +
                         " us, got " + std::to_string(window_us));
}

SpinPolicy::SpinPolicy(uint32_t window_us) : window_us_(window_us) {
  GRID_CHECK(window_us <= kMaxSpinBeforeWaitUs)
      << "spin window " << window_us << " us over " << kMaxSpinBeforeWaitUs;
}

void SpinPolicy::Record(bool event_within_window) {
  if (event_within_window) {
    credit_ = kSpinCredit;
  } else if (credit_ > 0) {
    --credit_;
  }
}

}  // namespace grid::router::net
