// What the KV, Maintenance and Cluster services share: the store, the way into the log, the
// member's identity and the limits. Owned by the server; services keep a pointer.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/worker_pool.h"
#include "kv/server/alarms.h"
#include "kv/server/member.h"
#include "kv/server/proposer.h"
#include "storage/mvcc/store.h"

namespace grid::kv {

struct ServerLimits {
  // Largest request accepted (etcd's --max-request-bytes, default 1.5 MiB).
  int64_t max_request_bytes = 1536 * 1024;
  // Operations in one txn, counted like etcd (--max-txn-ops, default 128).
  int64_t max_txn_ops = 128;
  // Backend size at which writes are refused with NOSPACE (--quota-backend-bytes; etcd's
  // default 2 GiB).
  int64_t quota_backend_bytes = 2LL << 30;
};

struct ServerContext {
  mvcc::Store* store = nullptr;
  Proposer* proposer = nullptr;
  const MemberIdentity* member = nullptr;
  AlarmTable* alarms = nullptr;
  WorkerPool* read_pool = nullptr;  // reads that waited on a barrier run here
  ServerLimits limits;
  std::string version = "3.4.23";   // the etcd API version gridkv speaks
  std::string data_dir;
  std::string client_url;           // first advertised client URL
  std::string peer_url;             // first advertised peer URL
  // Index bookkeeping for Maintenance.Status.
  std::function<uint64_t()> committed_index;
  std::function<uint64_t()> applied_index;
  // Replication: the leader this member follows (0: none known), whether `id` is a voting
  // member, and a leadership transfer that calls `done` once `target` leads (or fails).
  std::function<uint64_t()> leader_id;
  std::function<bool(uint64_t id)> is_voter;
  std::function<void(uint64_t target, std::function<void(const Status&)> done)> transfer_leadership;
  // MemberPromote's check, asked of the leader (only it knows the learner's progress; etcd
  // forwards promotes to it): the member exists, is a learner, and caught up (its match is at
  // least 90% of the leader's). `done` runs once, on any thread, possibly before the call
  // returns.
  std::function<void(uint64_t learner, std::function<void(Status)> done)> check_promote;
  // etcd's strict reconfiguration check (kv/server/reconfig_check.h), before proposing a
  // membership change; unset: none.
  std::function<Status(const kvpb::MemberChange& change)> check_reconfig;
  // True while this member is a learner: etcd 3.4 serves a learner only serializable reads
  // and Maintenance.Status; everything else gets "rpc not supported for learner" (proposals
  // through `proposer`, other calls and streams through this).
  std::function<bool()> self_is_learner;
};

// Refuses a write when the backend is over quota; raises the NOSPACE alarm through the log
// (once) like etcd. Returns OK when the write may go on.
Status CheckQuota(const ServerContext& ctx, int64_t cost_bytes);

// ErrNotSupportedForLearner() while ctx.self_is_learner() says so, else OK.
Status RefuseOnLearner(const ServerContext& ctx);

}  // namespace grid::kv
