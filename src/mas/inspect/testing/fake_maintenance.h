// FakeMaintenance: the maintenance side of a store cluster (revision, hashes, db sizes,
// alarms, compaction, defragmentation) for inspection tests, layered over another
// ClusterApi (e.g. kvcluster::testing::FakeCluster's) that answers membership and Status.
// An endpoint answers HashKV and Defragment only when the base answers its Status.
// Calls are logged ("Compact 42", "Defragment http://...", "AlarmDisarm NOSPACE 1001").
//
// Thread-safety: thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "mas/kvcluster/cluster_api.h"

namespace grid::mas::inspect::testing {

inline constexpr int64_t kFakeDbSizeBytes = int64_t{1} << 20;

class FakeMaintenance {
 public:
  // Wraps the ClusterApis `base` builds.
  kvcluster::ClusterApiFactory Factory(kvcluster::ClusterApiFactory base);

  void SetRevision(int64_t revision);
  // The revision `endpoint` reports (default: the cluster's).
  void SetEndpointRevision(const std::string& endpoint, int64_t revision);
  void SetHash(const std::string& endpoint, uint32_t hash);
  void SetDbSize(const std::string& endpoint, int64_t bytes);
  // Defragment sets the db size to this (default kFakeDbSizeBytes / 4).
  void SetDefragmentedSize(int64_t bytes);
  void RaiseAlarm(const kvcluster::AlarmInfo& alarm);
  // The next call of `op` ("Compact", "Defragment", "AlarmDisarm", "AlarmList") fails.
  void FailNext(const std::string& op, Status status);

  std::vector<kvcluster::AlarmInfo> Alarms();
  int64_t CompactRevision();
  std::vector<std::string> Calls();

  // ClusterApi operations (`base` decides whether `endpoint` answers).
  Result<kvcluster::EndpointStatus> GetStatus(kvcluster::ClusterApi* base, const std::string& endpoint);
  Result<kvcluster::HashKVResult> HashKV(kvcluster::ClusterApi* base, const std::string& endpoint,
                                         int64_t revision);
  Result<std::vector<kvcluster::AlarmInfo>> AlarmList();
  Status AlarmDisarm(const kvcluster::AlarmInfo& alarm);
  Status Defragment(kvcluster::ClusterApi* base, const std::string& endpoint);
  Status Compact(int64_t revision);

 private:
  Status TakeFailureLocked(const std::string& op);

  std::mutex mu_;
  int64_t revision_ = 100;                            // guarded by mu_
  int64_t compact_revision_ = 0;                      // guarded by mu_
  std::map<std::string, int64_t> endpoint_revision_;  // guarded by mu_
  std::map<std::string, uint32_t> hash_;              // guarded by mu_
  std::map<std::string, int64_t> db_size_;            // guarded by mu_
  int64_t defragmented_size_ = kFakeDbSizeBytes / 4;  // guarded by mu_
  std::vector<kvcluster::AlarmInfo> alarms_;          // guarded by mu_
  std::map<std::string, Status> fail_next_;           // guarded by mu_
  std::vector<std::string> calls_;                    // guarded by mu_
};

}  // namespace grid::mas::inspect::testing
