#include "common/lock_order_checks.h"

#include <absl/synchronization/mutex.h>
#include <gtest/gtest.h>

namespace grid {
namespace {

// Locks a then b, later b then a: a lock-order inversion (not a real deadlock: one thread).
void LockInBothOrders() {
  absl::Mutex a;
  absl::Mutex b;
  {
    absl::MutexLock la(&a);
    absl::MutexLock lb(&b);
  }
  {
    absl::MutexLock lb(&b);
    absl::MutexLock la(&a);
  }
}

// The premise: the abseil this project links checks lock order and aborts on an inversion.
// If this fails, abseil was built with NDEBUG and DisableLockOrderChecks() is a no-op.
TEST(LockOrderChecksDeathTest, AbseilAbortsOnAnInversionByDefault) {
  EXPECT_DEATH(LockInBothOrders(), "deadlock");
}

TEST(LockOrderChecksTest, AnInversionIsIgnoredOnceChecksAreOff) {
  DisableLockOrderChecks();
  LockInBothOrders();
  SUCCEED();
}

}  // namespace
}  // namespace grid
