// Reconciler: the one-method interface a controller implements. Reconcile(key) reads the
// desired state of the object named by `key`, observes the actual state, and takes one step
// towards the desired state. It is level-triggered: it must not depend on why it was called
// (an add, an update, a resync, or a retry all look the same).
#pragma once

#include <string>

#include "common/status.h"
#include "mas/controller/clock.h"

namespace grid::mas::controller {

struct ReconcileResult {
  // Run again with the queue's rate-limited back-off (not counted as a failure by callers
  // that inspect errors, but the back-off grows like one).
  bool requeue = false;
  // > 0: run again after this delay (the failure count is reset first). Takes precedence
  // over `requeue`.
  Duration requeue_after = Duration::zero();
};

class Reconciler {
 public:
  virtual ~Reconciler() = default;
  // An error requeues the key with rate-limited back-off. Called from worker threads;
  // never concurrently for the same key.
  virtual Result<ReconcileResult> Reconcile(const std::string& key) = 0;
};

}  // namespace grid::mas::controller
