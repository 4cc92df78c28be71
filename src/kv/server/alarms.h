// The active alarms of the cluster (etcd's alarm store). Changed only by applying alarm
// requests from the log; read from any thread. Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "etcd/rpc.pb.h"

namespace grid::kv {

class AlarmTable {
 public:
  // Returns true if the alarm was not active before.
  bool Activate(uint64_t member_id, etcdserverpb::AlarmType type);
  // Returns true if the alarm was active before.
  bool Deactivate(uint64_t member_id, etcdserverpb::AlarmType type);
  bool Has(etcdserverpb::AlarmType type) const;
  std::vector<etcdserverpb::AlarmMember> List() const;
  // Replaces every alarm (loading the backend at start or after installing a snapshot).
  void Replace(const std::vector<etcdserverpb::AlarmMember>& alarms);
  // Key of an alarm in the backend's alarm table: 8-byte big-endian member id + type byte.
  static std::string StorageKey(uint64_t member_id, etcdserverpb::AlarmType type);

 private:
  mutable std::mutex mu_;
  std::set<std::pair<uint64_t, int>> active_;  // GUARDED_BY(mu_)
};

}  // namespace grid::kv
