// The cluster's membership as applied from the log (etcd's RaftCluster member store). Changed
// only by the apply thread; read from any thread. Thread-safe. The Raft configuration follows
// this table (a change the table refuses is not applied to Raft).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "etcd/rpc.pb.h"
#include "grid/internal.pb.h"

namespace grid::kv {

// etcd's membership errors.
inline Status ErrMemberExists() { return FailedPrecondition("etcdserver: member ID already exist"); }
inline Status ErrPeerUrlExists() { return FailedPrecondition("etcdserver: Peer URLs already exists"); }
inline Status ErrMemberNotFound2() { return NotFound("etcdserver: member not found"); }
inline Status ErrMemberNotLearner() {
  return FailedPrecondition("etcdserver: can only promote a learner member");
}
inline Status ErrLearnerNotReady() {
  return FailedPrecondition(
      "etcdserver: can only promote a learner member which is in sync with leader");
}
inline Status ErrTooManyLearners() {
  return FailedPrecondition("etcdserver: too many learner members in cluster");
}
// Learners a cluster may have at once (etcd 3.4's maxLearners).
inline constexpr size_t kMaxLearners = 1;
inline Status ErrNotEnoughStartedMembers() {
  return FailedPrecondition(
      "etcdserver: re-configuration failed due to not enough started members");
}

// etcd's ids: a member's from its sorted peer URLs and the cluster token (and, for a member
// added at run time, the time of the add); the cluster's from its sorted member ids. Members
// started with the same flags get the same ids, as with etcd.
uint64_t DeriveMemberId(std::vector<std::string> peer_urls, const std::string& token,
                        std::optional<int64_t> added_at_unix_seconds = std::nullopt);
uint64_t DeriveClusterId(std::vector<uint64_t> member_ids);

// etcd's wire form of a member.
etcdserverpb::Member ToWireMember(const kvpb::MemberRecord& m);

class MemberTable {
 public:
  // Members kept at most (a bound on the table and on MemberList responses).
  static constexpr size_t kMaxMembers = 128;

  // Replaces the applied members (a backend's members table).
  void Load(const std::vector<kvpb::MemberRecord>& members);
  // A member that joined a running cluster (--initial-cluster-state existing) starts with no
  // applied member and learns them as it applies the leader's log. Until the applied members
  // include `self_id` (the log reached this member's own addition), List() and Get() answer
  // from `joined` instead: the membership a running member reported at the join, as etcd
  // answers MemberList from it. Apply() and SetAttributes() always work on the applied members.
  // At most kMaxMembers records (a bug otherwise).
  void ShowJoinedUntilSelfApplied(uint64_t self_id, std::vector<kvpb::MemberRecord> joined);

  // The membership shown to clients and peers (see ShowJoinedUntilSelfApplied), ordered by id.
  std::vector<kvpb::MemberRecord> List() const;
  std::optional<kvpb::MemberRecord> Get(uint64_t id) const;
  // The members applied from the log or loaded from a backend, ordered by id: what the Raft
  // configuration follows.
  std::vector<kvpb::MemberRecord> Applied() const;

  // Validates and applies `change` (every member applies the same changes in log order, so
  // every table agrees). Returns the changed record; the caller persists it (or deletes it for
  // REMOVE). `self_id` is the applying member.
  Result<kvpb::MemberRecord> Apply(const kvpb::MemberChange& change, uint64_t self_id);
  // Sets a member's name and client URLs (what the member publishes when it starts).
  Result<kvpb::MemberRecord> SetAttributes(const kvpb::MemberRecord& attributes);

  // Key of a member in the backend's members table.
  static std::string StorageKey(uint64_t id);

 private:
  bool PeerUrlTakenLocked(const std::string& url, uint64_t except_id) const;
  // What List() and Get() answer from; drops `joined_` once the applied members list self.
  const std::map<uint64_t, kvpb::MemberRecord>& ShownLocked() const;

  mutable std::mutex mu_;
  std::map<uint64_t, kvpb::MemberRecord> members_;  // GUARDED_BY(mu_): applied
  // GUARDED_BY(mu_): shown while the applied members lack `joined_self_` (empty otherwise).
  mutable std::map<uint64_t, kvpb::MemberRecord> joined_;
  uint64_t joined_self_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace grid::kv
