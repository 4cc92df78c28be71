// Snapshots between members. A leader whose log no longer holds what a follower needs sends
// it the whole store; the follower builds a new store from the file before Raft sees the
// snapshot (so Raft never accepts one whose data is unusable), and its apply thread switches to
// the new store in log order (store_dir.h says how the switch survives a crash).
//
// The data is the store as it is when sent, so its consistent index may be past the snapshot's
// Raft index; the follower then skips the entries its new store already holds (applier.h).
//
// Threads: OpenForSend and Prepare run on transport threads, Install on the apply thread.
// Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"
#include "raft/types.h"
#include "storage/mvcc/store.h"
#include "storage/mvcc/store_handle.h"
#include "transport/options.h"

namespace grid::kv {

class MemberSnapshots {
 public:
  // `member_dir` holds the store directories, `snap_dir` the files in transit; `active` is the
  // name of the store directory in use; `store_options` opens installed stores (its dir is
  // replaced). `store` must outlive this object.
  MemberSnapshots(std::string member_dir, std::string snap_dir, std::string active,
                  mvcc::Options store_options, mvcc::StoreHandle* store);

  // Leader: the data of `snap` — the store as it is now. The file goes away with the reader.
  Result<std::unique_ptr<transport::SnapshotReader>> OpenForSend(const raft::Message& snap);

  // Follower: builds a store from the received file (removed in any case) for the snapshot
  // `snap` announces. Corruption (with file and offset) when the data is damaged, or when its
  // consistent index is below the snapshot's index.
  Status Prepare(const raft::Message& snap, const std::string& path);

  // Apply thread: switches the member to the store prepared for Raft index `index` (the old
  // store's directory is removed once its last reader is done) and returns the new store's
  // consistent index. FailedPrecondition when none was prepared for `index`.
  Result<uint64_t> Install(uint64_t index);

 private:
  struct Prepared {
    std::string dir;  // under member_dir_, ends in kIncomingSuffix
    uint64_t consistent_index = 0;
  };

  std::string NextName(uint64_t index);

  const std::string member_dir_;
  const std::string snap_dir_;
  const mvcc::Options store_options_;
  mvcc::StoreHandle* const store_;

  std::mutex mu_;
  std::string active_;                    // GUARDED_BY(mu_)
  std::map<uint64_t, Prepared> prepared_;  // GUARDED_BY(mu_): by Raft index
  uint64_t next_serial_ = 0;              // GUARDED_BY(mu_)
};

}  // namespace grid::kv
