// The log of a single-member cluster: the consensus role a Raft node will take over. Proposals
// are queued, written to the WAL in batches and made durable with one fdatasync per batch
// (group commit: every request that arrived while the previous sync ran shares the next one),
// then handed to the apply side as committed entries, in index order.
//
// Threads: one log thread of its own (append + sync). Propose()/ReadBarrier() are thread-safe.
// The committed-entry sink is called on the log thread and must only enqueue.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kv/server/proposer.h"
#include "kv/server/wait_registry.h"
#include "storage/wal/wal.h"

namespace grid::kv {

struct SoloLogLimits {
  // Proposals waiting to be written; beyond it Propose() answers "etcdserver: too many requests"
  // (etcd refuses once commit runs 5000 entries ahead of apply).
  size_t max_pending_proposals = 5000;
  // Committed but not yet applied entries; the log thread waits when the apply side lags.
  uint64_t max_unapplied_entries = 5000;
  // One WAL append + sync takes at most this many entries / bytes.
  size_t max_batch_entries = 4096;
  size_t max_batch_bytes = 16 << 20;
};

// Receives committed entries in index order, on the log thread. Must not block for long.
using CommittedSink = std::function<void(std::vector<wal::Entry> entries)>;

class SoloLog final : public Proposer {
 public:
  // `wal` must be positioned after `last_index` (the last entry it holds). Entries with an
  // index <= `applied_index` are already in the store. `term` is written into new entries.
  SoloLog(std::unique_ptr<wal::Wal> wal, uint64_t last_index, uint64_t applied_index,
          uint64_t term, uint64_t start_time_ms, WaitRegistry* waits, CommittedSink sink,
          SoloLogLimits limits = {});
  ~SoloLog() override;

  // Starts the log thread. Entries in the WAL after `applied_index` are first handed to the
  // sink (the replay of a restart), then new proposals are accepted.
  void Start(std::vector<wal::Entry> unapplied);
  // Stops accepting proposals, fails queued ones with "etcdserver: server stopped", joins.
  void Stop();

  void Propose(kvpb::InternalRequest request, ApplyCallback done) override;
  void ReadBarrier(ReadyCallback ready) override;

  // Called by the apply side after it applied every entry up to `index`.
  void OnApplied(uint64_t index);

  // The store holds every entry up to `index` durably: the log thread records that in the WAL
  // (a snapshot marker) and deletes the segments wholly before it. Thread-safe.
  void ReleaseUpTo(uint64_t index);

  // Set when the WAL failed (disk full, I/O error): the member refuses every later write.
  Status wal_error() const;
  uint64_t committed_index() const;
  uint64_t applied_index() const;

 private:
  struct Pending {
    std::string data;
  };
  void Run();
  // Writes the snapshot marker and releases segments (log thread).
  void Release(uint64_t index);
  void FailPending(const Status& status, std::deque<Pending>* pending);

  const SoloLogLimits limits_;
  const uint64_t term_;
  std::unique_ptr<wal::Wal> wal_;
  WaitRegistry* const waits_;
  const CommittedSink sink_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;     // proposals arrived, applied advanced, or stopping
  std::deque<Pending> queue_;           // GUARDED_BY(mu_)
  uint64_t last_index_;                 // GUARDED_BY(mu_): last index written to the WAL
  uint64_t committed_index_;            // GUARDED_BY(mu_): last index durable in the WAL
  uint64_t applied_index_;              // GUARDED_BY(mu_)
  Status wal_error_;                    // GUARDED_BY(mu_)
  bool stopping_ = false;               // GUARDED_BY(mu_)
  uint64_t release_up_to_ = 0;          // GUARDED_BY(mu_): requested, not yet done
  uint64_t released_up_to_ = 0;         // log thread only
  RequestIdGenerator ids_;              // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace grid::kv
