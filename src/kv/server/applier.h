// The apply side of the pipeline: takes committed log entries in index order, applies each to
// the store (one mvcc revision per mutation), the lessor and the alarm table, and answers the
// proposer's waiter. Entries are applied in groups: one store batch per group, published at
// once, then watchers are notified and waiters answered.
//
// Threads: one apply thread of its own. Enqueue() is thread-safe (called by the log thread).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/worker_pool.h"
#include "kv/lease/lessor.h"
#include "kv/server/alarms.h"
#include "kv/server/member.h"
#include "kv/server/members.h"
#include "kv/server/wait_registry.h"
#include "storage/mvcc/store.h"
#include "storage/wal/format.h"

namespace grid::kv {

struct ApplierLimits {
  // Entries applied into one store batch at most.
  size_t max_entries_per_batch = 4096;
};

struct ApplierDeps {
  mvcc::Store* store = nullptr;
  lease::Lessor* lessor = nullptr;
  AlarmTable* alarms = nullptr;
  MemberTable* members = nullptr;
  const MemberIdentity* member = nullptr;
  WaitRegistry* waits = nullptr;
  // Runs the answers to applied proposals off the apply thread; null: answered inline.
  WorkerPool* responders = nullptr;
  // Called after each published batch with its events (revision order) and the new revision.
  std::function<void(std::vector<mvccpb::Event>&&, int64_t revision)> on_events;
  // Called for each membership change applied to the member table (accepted: the table took
  // it), so that the Raft configuration follows the table.
  std::function<void(const kvpb::MemberChange& change, bool accepted)> on_member_change;
  // Called after each published batch with the last applied log index.
  std::function<void(uint64_t index)> on_applied;
  // Every `snapshot_count` applied entries (etcd's --snapshot-count) the store is flushed and
  // `on_durable` told the index it now holds durably: the log before it may be released.
  uint64_t snapshot_count = 100000;
  std::function<void(uint64_t index)> on_durable;
  // Called once if the store refuses a batch (disk full, I/O error): the member must stop
  // taking writes. The entries stay in the log and are applied again at the next start.
  std::function<void(const Status&)> on_fatal;
};

class Applier {
 public:
  Applier(ApplierDeps deps, ApplierLimits limits = {});
  ~Applier();

  void Start();
  // Applies what is queued, then joins the thread.
  void Stop();

  // Queues committed entries (ascending, consecutive). Entries already in the store (index <=
  // its consistent index) are skipped; a skipped membership change is still reported to
  // on_member_change, accepted when the member table shows its effect (a store installed
  // from the leader's snapshot may already hold changes the Raft configuration has not seen).
  void Enqueue(std::vector<wal::Entry> entries);

  // Runs `task` on the apply thread after every entry queued before it and before any queued
  // after it (installing a snapshot replaces the store between two entries). `task` returns
  // the index the store now holds, reported to on_applied if higher than the last report.
  // Runs on the caller's thread when the apply thread is not running.
  void RunInOrder(std::function<uint64_t()> task);

  // Applies entries synchronously on the caller's thread (start-up replay before serving).
  // REQUIRES: the apply thread is not running.
  void ApplyNow(std::vector<wal::Entry> entries);

 private:
  // A queued entry, or a task run between entries.
  struct Item {
    wal::Entry entry;
    std::function<uint64_t()> task;
  };
  struct Outcome {
    uint64_t id = 0;
    Status status;
    kvpb::InternalResponse response;
  };
  void Run();
  void ApplyGroup(std::vector<wal::Entry>& entries);
  // Applies one request into `batch`; may commit `batch` early and replace it (compaction).
  Outcome ApplyRequest(std::unique_ptr<mvcc::Batch>& batch, const kvpb::InternalRequest& request,
                       uint64_t index);
  Status ApplyAlarm(mvcc::Batch& batch, const etcdserverpb::AlarmRequest& request,
                    etcdserverpb::AlarmResponse* response);
  // Publishes `batch` and notifies watchers; on a store failure reports it through on_fatal
  // and returns it. `batch` stays open (published, nothing more to write): its owner destroys
  // it once the answers are on their way, since freeing a large batch takes milliseconds.
  Status CommitBatch(std::unique_ptr<mvcc::Batch>& batch, uint64_t index);
  // Reports a membership change the store already holds (see Enqueue).
  void ReportSkippedMemberChange(const wal::Entry& entry);
  void ReportApplied(uint64_t index);
  // The revision a response reflects right now (inside an open batch).
  int64_t RevisionNow(mvcc::Batch& batch);

  const ApplierDeps deps_;
  const ApplierLimits limits_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;        // GUARDED_BY(mu_)
  bool stopping_ = false;         // GUARDED_BY(mu_)
  Status failed_;                 // apply thread only: the store failed, nothing more applies
  uint64_t applied_since_flush_ = 0;  // apply thread only
  uint64_t reported_applied_ = 0;     // apply thread only: last index given to on_applied
  std::thread thread_;
};

}  // namespace grid::kv
