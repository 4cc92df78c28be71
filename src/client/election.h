// Election: leader election with etcd's clientv3/concurrency.Election protocol. A candidate
// puts "<prefix>/<lease id in hex>" (value = its proposal) under its session's lease; the
// leader is the key with the lowest create revision under "<prefix>/".
//
// Thread-safety: not thread-safe; one Election object per campaigning thread. Leader() and
// Observe() only read and may be used on separate objects concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "client/session.h"

namespace grid::client {

// etcd's error texts (plain Go errors, reported over gRPC with code UNKNOWN).
inline constexpr char kElectionNotLeaderMessage[] = "election: not leader";
inline constexpr char kElectionNoLeaderMessage[] = "election: no leader";

// Returns false to stop observing.
using LeaderCallback =
    std::function<bool(const etcdserverpb::ResponseHeader& header, const mvccpb::KeyValue& kv)>;

class Election {
 public:
  // REQUIRES: `session` outlives the Election.
  Election(Session* session, std::string_view prefix);
  // An Election already won (or campaigned for) by `session` under `leader_key` at create
  // revision `leader_revision` (etcd's ResumeElection), for Proclaim and Resign.
  static Election Resume(Session* session, std::string_view prefix, std::string leader_key,
                         int64_t leader_revision);

  // Blocks until this session is the leader or ctx is done. On ctx cancellation the
  // candidate key is deleted; on other errors it is left (etcd's behaviour).
  Status Campaign(std::string_view value, const Context& ctx = {});
  // Sets a new value while still leader; FailedPrecondition "election: not leader" otherwise.
  Status Proclaim(std::string_view value, const Context& ctx = {});
  // Gives up leadership (deletes the key if it is still ours). OK when not leader.
  Status Resign(const Context& ctx = {});
  // The current leader's key/value; NotFound "election: no leader" when there is none.
  Result<etcdserverpb::RangeResponse> Leader(const Context& ctx = {});
  // Calls `on_leader` with the leader, then on each of its value changes and each later
  // leader, until the callback returns false (OK), ctx is done (ctx.Err()), or an error.
  Status Observe(const Context& ctx, const LeaderCallback& on_leader);

  const std::string& key() const { return leader_key_; }
  int64_t revision() const { return leader_revision_; }
  const etcdserverpb::ResponseHeader& header() const { return header_; }

 private:
  Session* const session_;
  std::string prefix_;
  std::string leader_key_;
  int64_t leader_revision_ = 0;
  bool leader_ = false;  // etcd's leaderSession != nil
  etcdserverpb::ResponseHeader header_;
};

}  // namespace grid::client
