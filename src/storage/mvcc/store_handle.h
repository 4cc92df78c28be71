// A Store whose backing store can be replaced while readers keep calling it: a follower that
// installs a snapshot builds a new store and swaps it in here.
//
// Every call takes a reference to the store that is current when the call starts and keeps it
// for the whole call, so a call never sees two stores and a replaced store stays open until the
// last call using it returns. Cost per call: one short mutex hold to copy a shared_ptr.
//
// Threads: the const methods (reads) from any thread; BeginBatch, Compact, Defragment, Flush and
// Replace from the writer thread only, as Store requires.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "storage/mvcc/store.h"

namespace grid::mvcc {

class StoreHandle final : public Store {
 public:
  // REQUIRES: initial != nullptr. The initial store never has an after-closed action:
  // destroying the handle closes the current store and touches nothing on disk.
  explicit StoreHandle(std::unique_ptr<Store> initial);
  ~StoreHandle() override;
  StoreHandle(const StoreHandle&) = delete;
  StoreHandle& operator=(const StoreHandle&) = delete;

  // Makes `next` current for every call that starts after Replace returns. Calls already
  // running keep the old store; it is destroyed when the last of them returns (at once if none
  // runs), then `after_old_closed` runs on the thread that dropped the last reference (it may be
  // empty). `next` itself gets no action: it is closed like any store when it is replaced (then
  // with the action given to that Replace) or when the handle goes away.
  // REQUIRES: next != nullptr; called by the writer thread with no batch open (a batch from
  // BeginBatch() still alive is a bug and crashes).
  void Replace(std::unique_ptr<Store> next, std::function<void()> after_old_closed);

  // The current store, kept open (and its after-closed action deferred) while the returned
  // pointer lives: for a reader that needs several calls answered by the same store.
  std::shared_ptr<const Store> Pin() const;

  // How many times Replace was called.
  uint64_t replacements() const;

  // ---- Store, forwarded to the current store ----
  Result<RangeResult> Range(std::string_view key, std::string_view end,
                            const RangeOptions& options) const override;
  int64_t CurrentRevision() const override;
  int64_t CompactedRevision() const override;
  uint64_t ConsistentIndex() const override;
  Result<std::vector<mvccpb::Event>> EventsInRange(std::string_view key, std::string_view end,
                                                   int64_t from_revision, int64_t to_revision,
                                                   bool with_prev_kv) const override;
  // The current store's batch; the store stays open while the batch lives.
  std::unique_ptr<Batch> BeginBatch() override;
  Status Compact(int64_t revision) override;
  Result<std::vector<std::pair<std::string, std::string>>> ReadMeta(
      std::string_view table) const override;
  Result<uint32_t> HashBackend() const override;
  Result<HashResult> HashKV(int64_t revision) const override;
  Status Defragment() override;
  Status Flush() override;
  int64_t DbSizeBytes() const override;
  int64_t DbSizeInUseBytes() const override;
  Status Checkpoint(const std::string& dir) const override;
  Status ExportRaw(const RawVisitor& visit) const override;

 private:
  struct Slot;
  class HandleBatch;

  std::shared_ptr<Slot> Current() const;

  mutable std::mutex mu_;
  std::shared_ptr<Slot> current_;  // guarded by mu_; never null
  uint64_t replacements_ = 0;      // guarded by mu_
};

}  // namespace grid::mvcc
