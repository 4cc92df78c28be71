#include "router/net/spin_policy.h"

#include "common/check.h"

namespace grid::router::net {

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
