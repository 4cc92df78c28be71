// The state a member keeps in memory beside the store and rebuilds from it: leases, alarms and
// the member table. Read at start and again after a snapshot from the leader replaced the store.
#pragma once

#include "common/status.h"
#include "kv/lease/lessor.h"
#include "kv/server/alarms.h"
#include "kv/server/members.h"
#include "storage/mvcc/store.h"

namespace grid::kv {

// Replaces the lessor's, the alarm table's and the member table's contents with what `store`
// holds. Corruption for a record that does not decode (nothing is replaced then).
// REQUIRES: nothing writes to `store` meanwhile (the apply thread calls it, or start-up).
[[nodiscard]] Status LoadBackendState(const mvcc::Store& store, lease::Lessor& lessor,
                                      AlarmTable& alarms, MemberTable& members);

}  // namespace grid::kv
