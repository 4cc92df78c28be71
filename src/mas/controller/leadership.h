// Leadership: leader election among control-plane replicas on a store lease, with etcd's
// concurrency recipe (client::Session + client::Election), so at most one replica acts.
//
// Each replica campaigns under `election_prefix` with a session of session_ttl_seconds.
// Once elected it is leader until it stops, its session's lease is lost, or its election
// key is deleted; it then loses leadership at once (IsLeader() turns false before
// on_change(false) runs) and campaigns again with a new session after retry_backoff.
//
// Fencing: while leader, the token is the create revision of the election key. A write
// made with the Fence's compare ("my election key exists with create_revision == token")
// fails once this replica is deposed, however late it reaches the store.
//
// Threads: one campaign thread (started by Start, joined by Stop), which runs on_change;
// plus the client's keepalive and watcher threads, which only flip the lost flag.
// Thread-safety: all public methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "client/client.h"
#include "common/status.h"

namespace grid::mas::controller {

inline constexpr int64_t kDefaultLeaderSessionTtlSeconds = 10;
inline constexpr std::chrono::milliseconds kDefaultLeaderRetryBackoff{500};
inline constexpr std::chrono::milliseconds kLeaderLostPollInterval{20};

// Proof of leadership at one election: the election key and its create revision.
struct Fence {
  std::string key;
  int64_t token = 0;
  // Holds while `key` still exists with create_revision == token.
  etcdserverpb::Compare Compare() const;
};

struct LeadershipOptions {
  std::string election_prefix;  // e.g. "/gridmas/leader"; must not be empty
  std::string identity;         // the campaign value (replica name)
  int64_t session_ttl_seconds = kDefaultLeaderSessionTtlSeconds;
  std::chrono::milliseconds retry_backoff = kDefaultLeaderRetryBackoff;
  // Runs on the campaign thread after each change: (true, the term's fence) when elected,
  // (false, the lost term's fence) when deposed or stopping. Must not call Stop().
  std::function<void(bool leader, const Fence& fence)> on_change;
};

class Leadership {
 public:
  // Starts campaigning. REQUIRES: `client` outlives the Leadership.
  static Result<std::unique_ptr<Leadership>> Start(client::Client* client,
                                                   LeadershipOptions options);
  ~Leadership();  // Stop()
  Leadership(const Leadership&) = delete;
  Leadership& operator=(const Leadership&) = delete;

  // Resigns (deletes the election key) when leader, revokes the session and joins the thread.
  void Stop();

  bool IsLeader() const;
  // The fencing token of the current term; 0 when not leader.
  int64_t token() const;
  // The current term's fence; nullopt when not leader.
  std::optional<Fence> fence() const;
  // The lease of the current session (0 between sessions); for observation and tests.
  int64_t lease_id() const;
  const std::string& identity() const { return options_.identity; }
  // Number of terms won so far.
  int64_t terms() const { return terms_.load(); }

  // Sends `request` with the current fence's compare added. FailedPrecondition when not
  // leader, or when the txn failed and `request` has no compares of its own (so the fence
  // failed: deposed). With compares of its own a failed txn is returned as is.
  Result<etcdserverpb::TxnResponse> FencedTxn(etcdserverpb::TxnRequest request);

 private:
  Leadership(client::Client* client, LeadershipOptions options);
  void Run(std::stop_token stop);
  Status RunTerm(std::stop_token stop);
  void MarkLost(int64_t epoch);
  bool LostOrStopping(int64_t epoch) const;

  client::Client* const client_;
  const LeadershipOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;             // guarded by mu_
  int64_t epoch_ = 0;                 // guarded by mu_; one per session
  bool lost_ = false;                 // guarded by mu_; the current epoch's session is lost
  bool leader_ = false;               // guarded by mu_
  std::optional<Fence> fence_;        // guarded by mu_; set while leader_
  int64_t lease_id_ = 0;              // guarded by mu_
  std::atomic<int64_t> terms_{0};
  std::jthread thread_;
};

}  // namespace grid::mas::controller
