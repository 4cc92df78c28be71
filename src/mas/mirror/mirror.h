// Mirror: keeps a standby store cluster equal to a primary for a set of key prefixes.
//
//   auto m = Mirror::Create(options);   // validates, connects lazily
//   (*m)->Start();                      // background thread
//   MirrorStats s = (*m)->Stats();      // lag, counters, foreign writes
//   (*m)->Stop();
//
// Protocol. The standby holds a progress record at <own_prefix>/progress (see plan.h). A
// session reads it; with none (or an interrupted copy) it copies the prefixes at one primary
// revision R (paged ranges at R, diffed against the standby, written in bounded
// transactions; standby keys missing on the primary are deleted) and records R; then it
// watches the primary from progress + 1 and applies the events in order, whole primary
// revisions per standby transaction (see PlanBatches). Every standby transaction puts the
// progress record and is conditional on the record's mod revision being the one this
// mirror last saw, so a batch is never applied twice and a concurrent writer of the record
// is noticed. Any error ends the session; the next one starts after a back-off from the
// persisted progress. A compacted watch start revision leads to a fresh full copy, counted
// in full_copies with its reason.
//
// Foreign writes: a second watch on the standby sees every standby revision touching the
// mirrored prefixes; a revision that does not also put the progress record was not made by
// the mirror and is counted with its key.
//
// Threads: one run thread (Start..Stop), one primary watcher thread per session, one
// standby watcher thread. Stats() and Stop() are thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "common/status.h"
#include "mas/mirror/lag.h"
#include "mas/mirror/plan.h"

namespace grid::mas::mirror {

inline constexpr int64_t kMaxPageSize = 10000;
// etcd's default --max-request-bytes is 1.5 MiB; leave room for the request's framing.
inline constexpr int64_t kMaxTxnBytes = 1024 * 1024;
inline constexpr size_t kMaxQueuedUpdatesLimit = 4096;

struct MirrorOptions {
  std::vector<std::string> primary_endpoints;
  std::vector<std::string> standby_endpoints;
  std::vector<std::string> prefixes{""};  // "" = every key
  // The mirror's own keys on the standby (<own_prefix>/progress); never mirrored.
  std::string own_prefix = "/grid-mirror/default";
  int64_t page_size = 500;  // keys per range page of a full copy, 1..kMaxPageSize
  BatchLimits limits;       // max_ops 1..kStoreMaxTxnOps-1, max_bytes 1..kMaxTxnBytes
  // Primary watch responses waiting to be applied; the watch stream is back-pressured
  // beyond it. 1..kMaxQueuedUpdatesLimit.
  size_t max_queued_updates = 256;
  std::chrono::milliseconds min_backoff{50};
  std::chrono::milliseconds max_backoff{2000};
  // While no event arrives, the primary's revision is read this often (for lag).
  std::chrono::milliseconds poll_interval{500};
  client::ClientOptions client_options;
};
Status Validate(const MirrorOptions& options);

struct MirrorStats {
  Lag lag;
  bool watching = false;        // copy done, applying the primary's watch
  int64_t applied_txns = 0;     // standby transactions committed (copy and watch)
  int64_t applied_events = 0;   // key operations applied from the watch
  int64_t split_revisions = 0;  // primary revisions too large for one transaction
  int64_t full_copies = 0;
  std::string last_full_copy_reason;  // "no progress", "copy interrupted", "compacted: ..."
  int64_t last_copy_revision = 0;
  int64_t copy_keys_put = 0;  // of the last full copy
  int64_t copy_keys_deleted = 0;
  int64_t copy_keys_unchanged = 0;
  int64_t sessions_failed = 0;  // sessions ended by an error (then retried)
  std::string last_error;
  int64_t foreign_writes = 0;  // standby key changes in the prefixes not made by the mirror
  std::string last_foreign_key;
  int64_t last_foreign_revision = 0;  // standby revision
  int64_t standby_watch_gaps = 0;     // standby watch restarts that could not resume
};

class Mirror {
 public:
  static Result<std::unique_ptr<Mirror>> Create(MirrorOptions options);
  ~Mirror();  // Stop()
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;

  void Start();
  // Ends the run thread and both watches; returns when they are gone. Idempotent.
  void Stop();
  MirrorStats Stats() const;
  std::string progress_key() const { return options_.own_prefix + "/progress"; }

 private:
  Mirror(MirrorOptions options, KeyFilter filter, std::unique_ptr<client::Client> primary,
         std::unique_ptr<client::Client> standby);
  void Run();
  // One session: read progress, copy if needed, watch and apply until an error or Stop.
  Status Session();
  Status FullCopy(const std::string& reason, int64_t* copied_revision);
  Status CopyRange(const std::string& begin, const std::string& end, int64_t revision,
                   std::vector<KeyOp>* pending, int64_t* pending_bytes);
  Status Commit(std::vector<KeyOp> ops, const Progress& progress);
  Status RefreshPrimaryRevision();
  Status WatchAndApply(int64_t from_revision, int64_t* compacted);
  void EnsureStandbyWatch(int64_t from_revision);
  void OnStandbyUpdate(const client::WatchUpdate& update);
  bool Stopping() const;
  bool SleepUnlessStopped(std::chrono::milliseconds d);

  const MirrorOptions options_;
  const KeyFilter filter_;
  const std::unique_ptr<client::Client> primary_;
  const std::unique_ptr<client::Client> standby_;

  // Run thread only.
  int64_t fence_ = 0;  // mod revision of the progress record as last seen / written

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool session_end_ = false;  // tells a blocked primary watch callback to return
  std::deque<client::WatchUpdate> queue_;
  LagTracker lag_;
  MirrorStats stats_;
  int64_t standby_seen_ = 0;  // last standby revision the standby watch delivered
  std::unique_ptr<client::Watcher> standby_watch_;
  std::thread thread_;
};

}  // namespace grid::mas::mirror
