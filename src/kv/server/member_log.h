// Opening a member's write-ahead log for the Raft pipeline: an existing log is replayed; a new
// member's log is created, and for a new cluster it starts with the bootstrap entries that add
// every initial member (etcd does the same: the membership is in the log, not in the flags).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "grid/internal.pb.h"
#include "kv/server/config.h"
#include "kv/server/initial_cluster.h"
#include "raft/types.h"
#include "storage/wal/wal.h"
#include "transport/options.h"

namespace grid::kv {

struct MemberLog {
  std::unique_ptr<wal::Wal> wal;
  wal::ReplayResult replay;  // metadata, hard state, snapshot marker, entries after it
  bool created = false;      // the log did not exist before this start
  // A member joining an existing cluster: the members a running member listed (id, name, peer
  // URLs, learner flag; at most MemberTable::kMaxMembers). Its peers, and what its member
  // table shows, until the log reaches its own addition.
  std::vector<kvpb::MemberRecord> joined_members;
};

// Opens `wal_dir`, or creates it for the member named by `config` in its --initial-cluster
// (which is read only then, as etcd does): with --initial-cluster-state=new the bootstrap
// entries go in at once; with "existing" the log starts empty and the member waits for the
// leader. FailedPrecondition when there is no log but the backend exists (`backend_exists`):
// the data dir is damaged; and, with "new", when a peer lists this member as already started
// (bootstrap_check.h): its log was lost and it must be removed and added back.
Result<MemberLog> OpenMemberLog(const ServerConfig& config, const std::string& wal_dir,
                                bool backend_exists);

// Creates a log for a member restored from a snapshot whose backend holds `applied_index`: a
// snapshot marker there, then the bootstrap entries of the cluster `config` names. Returns
// the member's id.
Result<uint64_t> CreateRestoredLog(const ServerConfig& config, const std::string& wal_dir,
                                   uint64_t applied_index);

// The transport's TLS options from the --peer-* flags; auto-TLS files go to `auto_tls_dir`.
transport::TlsOptions PeerTlsOptions(const ServerConfig& config, const std::string& auto_tls_dir);

// The InternalRequest, serialized, that adds `m` to the member table (a bootstrap entry).
std::string BootstrapAddRequest(const InitialMember& m);

// The Raft configuration the member table describes.
raft::ConfState ConfStateOf(const std::vector<kvpb::MemberRecord>& members);

// Entries of `replay` that are committed (index <= its hard state's commit) but not in a
// backend that holds everything up to `consistent_index`: applied before serving. A conf-change
// entry's data is replaced by the InternalRequest it carries (what the apply side expects).
std::vector<wal::Entry> CommittedTail(const wal::ReplayResult& replay, uint64_t consistent_index);

}  // namespace grid::kv
