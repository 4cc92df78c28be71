// FakeCluster: an in-memory store cluster that follows the instances of a FakeRuntime, for
// controller tests. A member answers when an instance advertising its client URL runs (and
// its version is not a "bad" one) and the membership lists its peer URL. The first running
// instance started with --initial-cluster-state new bootstraps the membership from its
// --initial-cluster. Membership changes need a leader: the lowest-id answering voter, when
// a majority of voters answers. A new learner reports a lagging applied index for its first
// `catch_up_polls` Status calls and cannot be promoted before. Calls are logged
// ("MemberAdd http://...", "MoveLeader 1001", ...).
//
// Thread-safety: thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "mas/kvcluster/cluster_api.h"
#include "mas/kvcluster/testing/fake_runtime.h"

namespace grid::mas::kvcluster::testing {

class FakeCluster {
 public:
  explicit FakeCluster(FakeRuntime* runtime) : runtime_(runtime) {}

  // Builds ClusterApis backed by this cluster (the endpoints are only recorded).
  ClusterApiFactory Factory();

  // Instances of `version` never answer.
  void SetBadVersion(const std::string& version);
  void SetCatchUpPolls(int polls);
  // Forgets the membership (a restore makes a new cluster): the next instance started with
  // --initial-cluster-state new bootstraps it again, with new ids.
  void Reset();

  std::vector<MemberInfo> Members();
  uint64_t LeaderId();
  std::vector<std::string> Calls();

  // ClusterApi operations.
  Result<std::vector<MemberInfo>> MemberList();
  Result<uint64_t> MemberAdd(const std::string& peer_url, bool is_learner);
  Status MemberPromote(uint64_t id);
  Status MemberRemove(uint64_t id);
  Status MoveLeader(uint64_t target_id);
  Result<EndpointStatus> GetStatus(const std::string& endpoint);

 private:
  // Bootstraps, names started members, and (re)elects; returns the answering member ids.
  std::set<uint64_t> SyncLocked();
  uint64_t AnsweringIdLocked(const std::string& client_url);
  Status NeedLeaderLocked();

  FakeRuntime* const runtime_;
  std::mutex mu_;
  std::vector<MemberInfo> members_;         // guarded by mu_
  bool bootstrapped_ = false;               // guarded by mu_
  uint64_t next_id_ = 0x1000;               // guarded by mu_
  uint64_t leader_ = 0;                     // guarded by mu_
  uint64_t applied_ = 1000;                 // guarded by mu_; + 1 per membership change
  std::map<uint64_t, int> lagging_polls_;   // guarded by mu_
  int catch_up_polls_ = 1;                  // guarded by mu_
  std::set<std::string> bad_versions_;      // guarded by mu_
  std::vector<std::string> calls_;          // guarded by mu_
};

}  // namespace grid::mas::kvcluster::testing
