// TableWatcher: keeps gridrouter's RouteTable in step with the keys under the table's prefix
// in an etcd-v3-compatible store (etcd 3.4 or gridkv).
//
//   auto w = TableWatcher::Start(client, {.prefix = "/grid/routes"});
//   TableReader reader((*w)->slot());          // one per proxy thread
//   const TablePtr& table = reader.Get();      // per request; nullptr until a table exists
//
// What it does, on its own thread:
//   1. Reads every key under "<prefix>/" at one revision R (paged, snapshot_reader.h), builds
//      the table and publishes it, then watches the prefix from R + 1.
//   2. Turns the watch responses waiting in its queue into one TableBuilder::Apply at the
//      revision of the last event (one response when it keeps up, e.g. a txn moving 10,000
//      tenants is one response and one swap; several when the stream ran ahead of it), then
//      swaps the table in the TableSlot.
//   3. A change the builder refuses leaves the previous table serving; the refusal (the
//      builder's "<key>: <field>: ..." message and the revision) is kept for Status() until a
//      later change yields a table again.
//   4. A compacted watch start revision → a new full read (shared cells keep their balancer
//      state: the reload is applied as a delta against what the builder holds), then watch.
//   5. Store unreachable → the last table keeps serving, Status().connected is false; range
//      reads are retried with capped exponential backoff, the watch stream reconnects with the
//      same limits and resumes from the revision after the last one seen (or reloads when that
//      revision was compacted meanwhile).
//   6. With a cache path: after each table from the store, its source is written to the file;
//      Start() serves the file's table (origin kCache) at once, until the store answers.
//
// Threads: one watcher thread (plus the client Watcher's stream thread). Callbacks run on the
// watcher thread: on_table after the swap and before Status()/WaitForRevision() show the new
// revision (the cached table's inside Start()); they must not block for long or call Stop().
// Current(), slot(), Status(), WaitForRevision() and Stop() are thread-safe.
// Stop() returns within about one store call timeout (a range read in flight is not
// interrupted) or the watch create timeout.
#pragma once

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
#include "router/table/table_builder.h"
#include "router/watch/limits.h"
#include "router/watch/table_slot.h"
#include "router/watch/update_queue.h"

namespace grid::router::watch {

enum class TableOrigin { kNone, kStore, kCache };
const char* TableOriginName(TableOrigin origin);

// A store state the builder refused.
struct RefusedChange {
  int64_t revision = 0;
  Status error;  // "<key>: <field path>: <what>", as the builder words it
  std::chrono::system_clock::time_point at;
};

// For the admin endpoint.
struct WatcherStatus {
  int64_t serving_revision = 0;  // 0: no table serving
  TableOrigin serving_origin = TableOrigin::kNone;
  std::chrono::system_clock::time_point last_update;  // when the serving table was swapped in
  int64_t store_revision = 0;                         // the last store revision applied or refused
  std::optional<RefusedChange> refused;       // set while the store's latest state is refused
  std::optional<RefusedChange> last_refused;  // the latest refusal, kept after recovery
  bool connected = false;
  Status store_error;    // the last failure talking to the store (kept after reconnecting)
  Status cache_error;    // the last failure reading or writing the cache file
  uint64_t swaps = 0;    // tables published (the cached one included)
  uint64_t reloads = 0;  // full range reads that completed (the first one included)
};

struct TableWatcherCallbacks {
  // A new table is serving.
  std::function<void(const TablePtr& table, TableOrigin origin)> on_table;
  // The store's state at `revision` was refused; the previous table keeps serving.
  std::function<void(int64_t revision, const Status& error)> on_refused;
  // The store became reachable (true) or unreachable (false).
  std::function<void(bool connected)> on_connection;
};

struct TableWatcherOptions {
  std::string prefix;  // e.g. "/grid/routes": not empty, no '/' at the end
  size_t max_page_keys = kDefaultPageKeys;
  size_t max_snapshot_keys = kMaxSnapshotKeys;
  size_t max_queued_updates = kMaxQueuedUpdates;
  std::chrono::milliseconds min_retry_backoff = kMinRetryBackoff;
  std::chrono::milliseconds max_retry_backoff = kMaxRetryBackoff;
  std::chrono::milliseconds watch_create_timeout = kWatchCreateTimeout;
  std::chrono::milliseconds connectivity_poll_interval = kConnectivityPollInterval;
  std::string cache_path;  // empty: no bootstrap cache
  size_t max_cache_file_bytes = kMaxCacheFileBytes;
  TableWatcherCallbacks callbacks;
};

class TableWatcher {
 public:
  // Checks the options, serves the cached table if there is one, and starts the watcher
  // thread; does not wait for the store (see WaitForRevision). A client made with
  // dial_timeout 0 lets the router start while the store is down.
  static Result<std::unique_ptr<TableWatcher>> Start(std::shared_ptr<client::Client> client,
                                                     TableWatcherOptions options);
  ~TableWatcher();  // Stop()
  TableWatcher(const TableWatcher&) = delete;
  TableWatcher& operator=(const TableWatcher&) = delete;

  // Ends the watcher thread; the last table stays readable.
  void Stop();

  TablePtr Current() const { return slot_.Current(); }
  const TableSlot& slot() const { return slot_; }
  WatcherStatus Status() const;
  // True once a table at `revision` or later serves; false after `timeout`.
  bool WaitForRevision(int64_t revision, std::chrono::milliseconds timeout) const;

 private:
  enum class FollowEnd { kStopped, kCompacted, kEnded };

  TableWatcher(std::shared_ptr<client::Client> client, TableWatcherOptions options);
  void LoadCache();
  void Run();
  // Full read, applied as a delta against the builder's source. Error: the store's.
  ::grid::Status Reload();
  // Applies the watch until it ends, is compacted, or Stop().
  FollowEnd Follow(client::Watcher& watcher, UpdateQueue& queue);
  void ApplyDelta(std::span<const table::KeyChange> delta, int64_t revision);
  void Publish(TablePtr table, TableOrigin origin);
  void Refuse(int64_t revision, ::grid::Status error);
  void SetConnected(bool connected, const ::grid::Status& error);
  // Waits `wait` or until Stop(); true when stopping.
  bool WaitOrStop(std::chrono::milliseconds wait);
  // The wait before retrying the store: `wait`, cut short when the channel comes back up.
  // True when stopping.
  bool WaitBeforeRetry(std::chrono::milliseconds wait);
  bool stopping() const;

  const std::shared_ptr<client::Client> client_;
  const TableWatcherOptions options_;
  TableSlot slot_;

  // Watcher thread only.
  table::TableBuilder builder_;
  int64_t next_revision_ = 0;  // where the next watch starts

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // status changes and Stop()
  bool stopping_ = false;               // guarded by mu_
  std::shared_ptr<UpdateQueue> queue_;  // guarded by mu_: the live watch's queue
  WatcherStatus status_;                // guarded by mu_

  std::mutex join_mu_;  // serialises Stop() callers around thread_
  std::thread thread_;
};

}  // namespace grid::router::watch
