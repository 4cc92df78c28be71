// The fan-out of committed events to watchers (etcd's watchableStore).
//
// A watcher is "synced" when every event it wants up to the hub revision is delivered or in its
// buffer; OnCommit appends new events straight to synced watchers. A watcher is "unsynced" when
// it starts in the past or its buffer filled up; the hub's catch-up thread reads its missing
// revisions from the EventSource page by page and moves it back to synced once caught up.
// Per watcher, events come out strictly in revision order, without gaps or duplicates, and the
// events of one revision always come out together.
//
// Delivery is pull-based: a consumer (one gRPC stream) owns a WatchStream and calls Next()
// whenever it can send; when Next() finds nothing it arms the stream's ready callback, which
// the hub's notify thread invokes once output becomes available. A slow consumer therefore
// only costs its watchers' bounded buffers, never the apply thread's time.
//
// Threads: the apply thread (OnCommit), one catch-up thread (history reads, progress ticks),
// one notify thread (ready callbacks), and the consumers' threads (WatchStream methods).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/status.h"
#include "etcd/kv.pb.h"
#include "kv/watch/event_source.h"

namespace grid::kv::watch {

// etcd 3.4's texts for create failures (sent as cancel_reason).
inline constexpr char kErrEmptyRange[] = "mvcc: watcher range is empty";
inline constexpr char kErrDuplicateId[] = "mvcc: duplicate watch ID provided on the WatchStream";
inline constexpr char kErrTooManyWatchers[] = "gridkv: too many watchers on this stream";
// The watch id of responses that concern no single watcher (etcd's clientv3.InvalidWatchID).
inline constexpr int64_t kInvalidWatchId = -1;

struct HubOptions {
  // Watchers one stream may hold at once; Watch() beyond it fails with kErrTooManyWatchers.
  size_t max_watchers_per_stream = 10000;
  // Events buffered per watcher before it falls back to catch-up. A revision with more events
  // than this is still buffered whole when the buffer is empty.
  size_t max_pending_events = 1024;
  // Upper bound on the events' bytes packed into one output; whole revisions are packed while
  // they fit (at least one). Also the fragmenting threshold of watchers that asked for
  // fragments (etcd: max request bytes + gRPC overhead = 1.5 MiB + 512 KiB).
  size_t max_response_bytes = 2 * 1024 * 1024;
  // Unsynced watchers served per catch-up round (etcd's maxWatchersPerSync).
  size_t max_catchup_watchers_per_round = 512;
  // Period of progress notifications to watchers that asked for them (etcd default 10 min).
  std::chrono::milliseconds progress_notify_interval = std::chrono::minutes(10);
  // Wait before retrying a catch-up read that failed with an error other than compaction.
  std::chrono::milliseconds catchup_retry_interval = std::chrono::milliseconds(100);
};

// What a client asked for in WatchCreateRequest, normalised.
struct WatchSpec {
  int64_t watch_id = 0;        // 0: chosen by the stream
  std::string key;             // empty is treated as "\0" (the smallest key), as etcd does
  std::string range_end;       // empty: one key; "\0": every key >= key
  int64_t start_revision = 0;  // 0: from the hub revision + 1
  bool no_put = false;
  bool no_delete = false;
  bool prev_kv = false;
  bool fragment = false;
  bool progress_notify = false;
};

// A successful Watch(): the id and the hub revision the watcher was created at.
struct WatchCreated {
  int64_t watch_id = 0;
  int64_t revision = 0;
};

// One unit for the consumer to send, in order.
struct WatchOutput {
  enum class Kind {
    kEvents,       // events of whole revisions, oldest first
    kCompacted,    // the watcher's start was compacted: it is canceled and gone
    kProgress,     // progress notification for one watcher (no events)
    kProgressAll,  // answer to RequestProgress(): watch_id == kInvalidWatchId
  };
  Kind kind = Kind::kEvents;
  int64_t watch_id = 0;
  int64_t revision = 0;          // for the response header
  int64_t compact_revision = 0;  // kCompacted only
  bool prev_kv = false;          // the watcher wants prev_kv (strip it when false)
  bool fragment = false;         // the watcher accepts fragmented responses
  std::vector<std::shared_ptr<const mvccpb::Event>> events;
};

class WatchHub;
struct Watcher;
struct PendingEvent;

// The watchers of one consumer. Thread-safety: all methods may be called from any thread;
// Next() is meant for one consumer at a time.
class WatchStream : public std::enable_shared_from_this<WatchStream> {
 public:
  ~WatchStream();
  WatchStream(const WatchStream&) = delete;
  WatchStream& operator=(const WatchStream&) = delete;

  // Adds a watcher; returns its id. Errors (InvalidArgument, message = etcd text):
  // kErrEmptyRange, kErrDuplicateId, kErrTooManyWatchers, or FailedPrecondition when closed.
  // Never invokes the ready callback: call Next() afterwards.
  Result<WatchCreated> Watch(const WatchSpec& spec);
  // Removes a watcher and drops its undelivered output. False when no such watcher.
  bool Cancel(int64_t watch_id);
  // Asks for one kProgressAll output; it comes after every event up to its revision of every
  // watcher of the stream, once all of them are synced. Repeated requests before it is
  // delivered are answered once. Call Next() afterwards.
  void RequestProgress();
  // The next output, or nullopt (and the ready callback is armed).
  std::optional<WatchOutput> Next();
  // The hub revision: every revision up to it has been handed to the hub.
  int64_t Revision() const;
  // Drops every watcher. After it returns, the ready callback is never invoked again.
  // REQUIRES: not called from inside the ready callback.
  void Close();

 private:
  friend class WatchHub;
  WatchStream(WatchHub* hub, std::function<void()> on_ready);

  WatchHub* const hub_;
  const std::function<void()> on_ready_;

  // Serialises ready callbacks with Close(). Lock order: callback_mu_ before the hub's mu_.
  std::mutex callback_mu_;
  bool callback_closed_ = false;

  // The fields below are guarded by the hub's mu_.
  bool closed_ = false;
  bool waiting_ = false;  // Next() found nothing; notify when output appears
  int64_t next_auto_id_ = 0;
  std::map<int64_t, std::shared_ptr<Watcher>> watchers_;
  std::deque<std::shared_ptr<Watcher>> ready_;  // watchers that may have output
  bool progress_all_wanted_ = false;
  int64_t progress_all_revision_ = -1;  // -1: not all watchers synced yet
};

// Thread-safety: OnCommit from the single apply thread; NewStream/Stop/Revision from any
// thread. The hub must outlive its streams; `source` must outlive the hub.
class WatchHub {
 public:
  // Starts the catch-up and notify threads. The hub revision starts at source->CurrentRevision(): build
  // the hub before the apply thread commits anything more.
  WatchHub(const EventSource* source, HubOptions options);
  ~WatchHub();  // Stop()
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // Hands the hub one committed batch: `events` in revision order, `revision` the store's new
  // current revision. REQUIRES: called once per committed batch, in commit order, after the
  // batch is visible to EventSource readers. Never blocks on consumers. The events a watcher
  // takes are moved into shared, immutable events (not copied); `events` is left moved-from.
  void OnCommit(std::vector<mvccpb::Event>&& events, int64_t revision);

  // The store was replaced by one at `revision` (a snapshot from the leader): every watcher
  // that was up to date catches up from the new store as if it had fallen behind, so it gets
  // the revisions between in order; one whose next revision the new store compacted is ended
  // with a compaction notice (as etcd's restore does). REQUIRES: revision >= Revision(), on the
  // apply thread, after the new store is visible to EventSource readers.
  void OnRestore(int64_t revision);

  // A new stream. `on_ready` is invoked from the hub's notify thread, without hub locks held,
  // when output becomes available after Next() returned nullopt. It should pull with Next().
  std::shared_ptr<WatchStream> NewStream(std::function<void()> on_ready);

  int64_t Revision() const;
  const HubOptions& options() const { return options_; }

  // Joins the hub's threads; afterwards unsynced watchers stay behind and ready callbacks stop.
  // Idempotent. Call it after the consumers are gone (service stopped, server shut down).
  void Stop();

  // Test hooks.
  size_t UnsyncedCountForTest() const;

 private:
  friend class WatchStream;
  struct CatchupWork;

  void CatchupLoop();
  void NotifyLoop();
  // Reads outside mu_; `work` was chosen under mu_.
  void ReadCatchup(std::vector<CatchupWork>& work) const;
  // REQUIRES: mu_ held (for every *Locked method).
  bool ChooseCatchupLocked(std::vector<CatchupWork>* work);
  bool ApplyCatchupLocked(std::vector<CatchupWork>& work);  // true if a read failed
  void ProgressTickLocked();
  void AddWatcherLocked(const std::shared_ptr<Watcher>& w);
  void RemoveWatcherLocked(Watcher* w);
  void MarkUnsyncedLocked(Watcher* w, int64_t next_revision);
  // Appends whole revision groups of `events` (revision order) while the buffer has room.
  // Returns the revision of the first group that did not fit, or 0 if all fit.
  int64_t AppendLocked(Watcher* w, std::vector<PendingEvent>& events);
  // Takes whole revisions up to `max_revision` from the front of w's buffer.
  WatchOutput PackLocked(Watcher* w, int64_t max_revision);
  bool CatchupEligibleLocked(const Watcher* w) const;
  void WakeCatchupLocked();
  // Queues `w` on its stream and fires the stream's callback if it waits.
  void MakeReadyLocked(Watcher* w);
  void NotifyIfWaitingLocked(WatchStream* s);
  bool AllSyncedLocked(const WatchStream* s) const;
  std::vector<std::shared_ptr<WatchStream>> TakeNotifiesLocked();
  static void InvokeReady(const std::vector<std::shared_ptr<WatchStream>>& streams);

  const EventSource* const source_;
  const HubOptions options_;

  mutable std::mutex mu_;
  int64_t revision_ = 0;
  uint64_t next_serial_ = 1;
  std::unordered_set<Watcher*> all_;  // every live watcher
  std::unordered_map<std::string, std::unordered_set<Watcher*>> key_watchers_;
  std::multimap<std::string, Watcher*> range_watchers_;  // by start key
  std::map<uint64_t, Watcher*> unsynced_;                // by serial, served round-robin
  uint64_t catchup_cursor_ = 0;                          // last serial served
  std::vector<std::weak_ptr<WatchStream>> to_notify_;

  std::condition_variable catchup_cv_;
  bool catchup_wanted_ = false;
  std::condition_variable notify_cv_;  // to_notify_ became non-empty
  bool stop_ = false;
  std::thread catchup_thread_;
  std::thread notify_thread_;
};

}  // namespace grid::kv::watch
