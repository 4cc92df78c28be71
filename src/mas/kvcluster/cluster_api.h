// ClusterApi: the membership and maintenance calls the KVCluster controller makes on one store
// cluster (gridkv or etcd 3.4), behind an interface so the decision and the reconciler can be
// tested with a fake. GrpcClusterApi speaks the etcd v3 gRPC API to the cluster's client URLs.
//
// Cluster-wide calls (MemberList, MemberAdd, ...) go to the first endpoint that answers; an
// endpoint that answers with an error ends the attempt with that error. MoveLeader is sent to
// the current leader's endpoint (found by Status). Every call has a deadline of
// `call_timeout`. Errors are grid::Status values carrying the store's message.
//
// Thread-safety: GrpcClusterApi is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/channel.h>

#include "common/status.h"

namespace grid::mas::kvcluster {

inline constexpr std::chrono::milliseconds kDefaultClusterCallTimeout{5000};

struct MemberInfo {
  uint64_t id = 0;
  std::string name;  // "" until the member has started
  bool learner = false;
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool operator==(const MemberInfo&) const = default;
};

// What one endpoint reports about itself (etcd's Maintenance.Status).
struct EndpointStatus {
  std::string endpoint;
  uint64_t member_id = 0;  // the answering member
  uint64_t leader_id = 0;  // 0 = no leader known
  uint64_t raft_index = 0;
  uint64_t raft_term = 0;
  uint64_t applied_index = 0;
  int64_t db_size_bytes = 0;
  int64_t db_size_in_use_bytes = 0;
  bool learner = false;
  std::string version;
  std::vector<std::string> errors;
};

struct HashKVResult {
  uint32_t hash = 0;
  int64_t compact_revision = 0;
  int64_t revision = 0;  // the header revision the hash was taken at
};

enum class AlarmType { kNone, kNoSpace, kCorrupt };
struct AlarmInfo {
  uint64_t member_id = 0;
  AlarmType type = AlarmType::kNone;
  bool operator==(const AlarmInfo&) const = default;
};

class ClusterApi {
 public:
  virtual ~ClusterApi() = default;
  virtual Result<std::vector<MemberInfo>> MemberList() = 0;
  // Returns the new member's id.
  virtual Result<uint64_t> MemberAdd(const std::string& peer_url, bool is_learner) = 0;
  [[nodiscard]] virtual Status MemberPromote(uint64_t id) = 0;
  [[nodiscard]] virtual Status MemberRemove(uint64_t id) = 0;
  // Transfers leadership to `target_id`, through the current leader.
  [[nodiscard]] virtual Status MoveLeader(uint64_t target_id) = 0;
  // `endpoint`: a client URL or host:port.
  virtual Result<EndpointStatus> GetStatus(const std::string& endpoint) = 0;
  virtual Result<HashKVResult> HashKV(const std::string& endpoint, int64_t revision) = 0;
  virtual Result<std::vector<AlarmInfo>> AlarmList() = 0;
  [[nodiscard]] virtual Status AlarmDisarm(const AlarmInfo& alarm) = 0;
  [[nodiscard]] virtual Status Defragment(const std::string& endpoint) = 0;
  // A physical compaction: returns once every member has applied it.
  [[nodiscard]] virtual Status Compact(int64_t revision) = 0;
};

// Builds the ClusterApi of one cluster from its members' client URLs.
using ClusterApiFactory =
    std::function<Result<std::unique_ptr<ClusterApi>>(const std::vector<std::string>& endpoints)>;

class GrpcClusterApi final : public ClusterApi {
 public:
  // REQUIRES: `endpoints` non-empty ("http://host:port" or "host:port").
  explicit GrpcClusterApi(std::vector<std::string> endpoints,
                          std::chrono::milliseconds call_timeout = kDefaultClusterCallTimeout);

  Result<std::vector<MemberInfo>> MemberList() override;
  Result<uint64_t> MemberAdd(const std::string& peer_url, bool is_learner) override;
  Status MemberPromote(uint64_t id) override;
  Status MemberRemove(uint64_t id) override;
  Status MoveLeader(uint64_t target_id) override;
  Result<EndpointStatus> GetStatus(const std::string& endpoint) override;
  Result<HashKVResult> HashKV(const std::string& endpoint, int64_t revision) override;
  Result<std::vector<AlarmInfo>> AlarmList() override;
  Status AlarmDisarm(const AlarmInfo& alarm) override;
  Status Defragment(const std::string& endpoint) override;
  Status Compact(int64_t revision) override;

 private:
  std::shared_ptr<grpc::Channel> Channel(const std::string& endpoint);
  // Runs `call` on each endpoint in turn until one answers (OK or a store error).
  Status OnAnyEndpoint(const std::function<Status(const std::shared_ptr<grpc::Channel>&,
                                                  const std::string&)>& call);

  const std::vector<std::string> endpoints_;
  const std::chrono::milliseconds call_timeout_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;  // guarded by mu_
};

// A factory of GrpcClusterApi.
ClusterApiFactory GrpcClusterApiFactory(
    std::chrono::milliseconds call_timeout = kDefaultClusterCallTimeout);

}  // namespace grid::mas::kvcluster
