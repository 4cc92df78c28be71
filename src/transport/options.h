// Configuration, callbacks and the snapshot source interface of the peer transport.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "raft/types.h"

namespace grid::transport {

// Peer TLS, as etcd's --peer-* flags. TLS is used when a URL is https://.
struct TlsOptions {
  std::string cert_file;        // PEM; presented as server and as client certificate
  std::string key_file;         // PEM
  std::string trusted_ca_file;  // PEM; verifies peers' certificates (required by client_cert_auth)
  bool client_cert_auth = false;  // the server requires and verifies a client certificate
  // Generate a self-signed certificate and key into auto_tls_dir at start (reused when both
  // files exist). Members then do not verify each other's certificates: the link is encrypted
  // but not authenticated. Overrides cert_file/key_file/trusted_ca_file.
  bool auto_tls = false;
  std::string auto_tls_dir;
  // Days an auto-TLS certificate is valid.
  int auto_tls_valid_days = 365;

  bool configured() const { return auto_tls || (!cert_file.empty() && !key_file.empty()); }
};

struct TransportOptions {
  uint64_t cluster_id = 0;
  raft::MemberId member_id;
  // Where this member's Peer service listens, e.g. "http://127.0.0.1:2380". Port 0 picks a free
  // port; Transport::listen_urls() reports the bound one.
  std::vector<std::string> listen_urls;
  TlsOptions tls;
  // Received snapshots are written here (created if missing).
  std::string snapshot_dir;

  // Limits. Each has a test at the limit.
  size_t max_queued_msgs_per_peer = 4096;
  uint64_t max_queued_bytes_per_peer = 64ull << 20;
  // One stream write carries queued messages up to this many bytes (at least one message).
  uint64_t max_batch_bytes = 1ull << 20;
  // A single message larger than this is dropped by Send(); the receiver accepts gRPC messages
  // up to max_message_bytes + snapshot_chunk_bytes. REQUIRES: <= max_queued_bytes_per_peer.
  uint64_t max_message_bytes = 16ull << 20;
  // Snapshot data travels in chunks of this size.
  uint64_t snapshot_chunk_bytes = 1ull << 20;
  // A snapshot announcing more data than this is refused (RESOURCE_EXHAUSTED).
  uint64_t max_snapshot_bytes = 32ull << 30;
  // Largest lease call response (a time-to-live listing the lease's keys) this member sends
  // or accepts; a larger one fails with RESOURCE_EXHAUSTED. At most 1 GiB.
  uint64_t max_lease_response_bytes = 64ull << 20;

  // Connection management.
  std::chrono::milliseconds dial_timeout{1000};
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  std::chrono::milliseconds keepalive_interval{10000};
  std::chrono::milliseconds keepalive_timeout{5000};
};

// A snapshot's data, read once from the start. Called from a transport thread only.
class SnapshotReader {
 public:
  virtual ~SnapshotReader() = default;
  // Total bytes Read() will return.
  virtual uint64_t size_bytes() const = 0;
  // Copies up to `n` bytes into `buf`; 0 at the end.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
};

// Opens the data of the snapshot a kSnap message announces.
using SnapshotSource =
    std::function<Result<std::unique_ptr<SnapshotReader>>(const raft::Message& snap)>;

// Reads a file (the owner's checkpoint, or a received snapshot).
Result<std::unique_ptr<SnapshotReader>> OpenFileSnapshotReader(const std::string& path);

// A lease as the leader's lessor reports it (LeaseTimeToLive).
struct LeaseTtl {
  int64_t remaining_ttl_seconds = 0;  // whole seconds left
  int64_t granted_ttl_seconds = 0;
  std::vector<std::string> keys;      // sorted; empty unless asked for
};

// The answer of a member that does not lead to a lease call (FailedPrecondition, etcd's
// ErrGRPCNotLeader text): the caller asks the leader it learns next.
inline constexpr char kNotLeaderMessage[] = "etcdserver: not leader";
inline Status NotLeaderError() { return FailedPrecondition(kNotLeaderMessage); }
inline bool IsNotLeader(const Status& s) {
  return s.code() == Code::kFailedPrecondition && s.message() == kNotLeaderMessage;
}

// What ClusterInfo answers: the member table of the answering member.
struct ClusterMemberInfo {
  uint64_t id = 0;
  std::vector<std::string> peer_urls;
  bool is_learner = false;
  std::string name;
};
struct ClusterInfo {
  uint64_t cluster_id = 0;
  std::vector<ClusterMemberInfo> members;
};

// Every callback must return quickly (no disk sync, no waiting on the transport); each may call
// Send(). None runs after Transport::Stop() returned. See README.md for the threads.
struct TransportCallbacks {
  // Messages one peer sent, in its order. Called from a server thread; batches of one stream are
  // delivered one at a time in order, batches of different peers may arrive concurrently.
  std::function<void(std::vector<raft::Message>)> on_messages;
  // A verified snapshot: the kSnap message and the path of the complete data file, which now
  // belongs to the callee (move or delete it). Called from a server thread.
  std::function<void(raft::Message snap, std::string path)> on_snapshot;
  // Messages to `peer` were dropped (queue full or connection failed). From the thread calling
  // Send() or from the peer's sender thread.
  std::function<void(raft::MemberId peer)> on_unreachable;
  // Outcome of a kSnap sent to `peer`: true once the peer verified the data.
  std::function<void(raft::MemberId peer, bool ok)> on_snapshot_status;
  // Opens a kSnap's data for sending. Without it every kSnap fails.
  SnapshotSource snapshot_source;
  // A peer refused this member because it was removed from the cluster (from a sender
  // thread; may be called more than once).
  std::function<void()> on_removed;
  // Answers ClusterInfo calls (from a server thread). Without it they get UNAVAILABLE.
  std::function<ClusterInfo()> cluster_info;

  // Lease calls of peer `from` (a member that does not lead), from a server thread, one per
  // call. The answer travels back as it is (code and message): NotLeaderError() when this
  // member does not lead, NotFound when the lease does not exist. They may wait a bounded time
  // (the leader lets its apply catch up with its commit first, as etcd) but never on this
  // transport. Without them the calls get UNAVAILABLE.
  // on_lease_renew: the lease's TTL in seconds after renewing it.
  std::function<Result<int64_t>(raft::MemberId from, int64_t id)> on_lease_renew;
  // on_lease_time_to_live: the lease's remaining and granted TTL, and its keys if asked.
  std::function<Result<LeaseTtl>(raft::MemberId from, int64_t id, bool keys)>
      on_lease_time_to_live;
  // on_promote_check: OK when `member` may be promoted now (this member leads and the learner
  // is in sync), else the error for the client. Same threading and answer rules as above.
  std::function<Status(raft::MemberId from, uint64_t member)> on_promote_check;
};

}  // namespace grid::transport
