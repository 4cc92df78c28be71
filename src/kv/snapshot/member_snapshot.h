// The member snapshot file: every record of one consistent view of a store (all three families,
// every side table), as a leader sends it to a follower that fell behind its compacted log.
// gridkv's own peer format (README.md has the byte layout); etcd's backend file is
// etcd_backend.h.
//
// Written and read streaming: memory is one record (at most max_key_bytes + max_value_bytes +
// 255) plus an I/O buffer, whatever the size of the store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"
#include "storage/mvcc/crc32c.h"
#include "storage/mvcc/store.h"

namespace grid::kv::snapshot {

inline constexpr char kMemberSnapshotMagic[] = "GRIDMSNP";  // 8 bytes, no terminator written
inline constexpr uint32_t kMemberSnapshotVersion = 1;

// Record key (revision key, meta name or side-table row key) and value limits. The writer
// refuses a record over a limit (ResourceExhausted); the reader reports one as Corruption.
inline constexpr size_t kMaxMemberSnapshotKeyBytes = 1 << 20;     // 1 MiB
inline constexpr size_t kMaxMemberSnapshotValueBytes = 64 << 20;  // 64 MiB
// Side table names are 1..255 bytes (mvcc::RawRecord).
inline constexpr size_t kMaxMemberSnapshotTableBytes = 255;

struct MemberSnapshotLimits {
  size_t max_key_bytes = kMaxMemberSnapshotKeyBytes;
  size_t max_value_bytes = kMaxMemberSnapshotValueBytes;
};

struct MemberSnapshotInfo {
  uint64_t bytes = 0;             // file size
  uint64_t records = 0;           // records of all families
  uint64_t consistent_index = 0;  // the meta record "consistent_index" (0 when absent)
};

// Writes a member snapshot file record by record: WriteMemberSnapshot feeds it from
// Store::ExportRaw. The file appears at `path` only after Finish (written to path + ".tmp",
// fsynced, renamed, directory fsynced); a writer destroyed before Finish, or whose Add or Finish
// failed, removes path + ".tmp". Thread-safety: one thread uses a writer.
class MemberSnapshotWriter {
 public:
  static Result<std::unique_ptr<MemberSnapshotWriter>> Create(const std::string& path,
                                                              const MemberSnapshotLimits& limits);
  ~MemberSnapshotWriter();
  MemberSnapshotWriter(const MemberSnapshotWriter&) = delete;
  MemberSnapshotWriter& operator=(const MemberSnapshotWriter&) = delete;

  // Appends one record. ResourceExhausted for a key or value over the limits, InvalidArgument
  // for a side-table name outside 1..255 bytes or a table on a key/meta record.
  Status Add(const mvcc::RawRecord& record);
  // Writes the trailer and publishes the file. REQUIRES: called once, after the last Add.
  Result<MemberSnapshotInfo> Finish();

 private:
  class File;
  MemberSnapshotWriter(std::string path, const MemberSnapshotLimits& limits,
                       std::unique_ptr<File> file);
  Status Fail(Status status);

  const std::string path_;
  const MemberSnapshotLimits limits_;
  std::unique_ptr<File> file_;  // null once finished or failed
  mvcc::Crc32c file_crc_;  // over the header, each record's checksum, the trailer
  MemberSnapshotInfo info_;
};

// Writes one consistent view of `store` (Store::ExportRaw) to `path`: to path + ".tmp", fsync,
// rename, fsync of the directory. On error nothing is left at path + ".tmp"; `path` is
// untouched, except that a failed directory fsync after the rename removes it.
// Errors: ResourceExhausted for a record over a limit, IOError, the store's errors.
Result<MemberSnapshotInfo> WriteMemberSnapshot(const mvcc::Store& store, const std::string& path,
                                               const MemberSnapshotLimits& limits = {});

// Checks the whole file: header, every record's framing and checksum, the trailer's record
// count and file checksum, nothing after the trailer. Corruption errors name the file and the
// byte offset of what failed. NotFound if the file cannot be opened.
Result<MemberSnapshotInfo> VerifyMemberSnapshot(const std::string& path,
                                                const MemberSnapshotLimits& limits = {});

// Verifies the file completely, then builds a store from it in `store_dir` (mvcc::RawImporter),
// checking every record again as it is read. The store is built in store_dir + ".importing"
// (a leftover one from an interrupted import is removed first) and renamed to `store_dir` once
// complete, so `store_dir` exists only whole. On any error nothing is left behind.
// Errors: FailedPrecondition if `store_dir` exists (it is left alone), Corruption (file and
// offset) for a bad file or a record the importer refuses, IOError.
Result<MemberSnapshotInfo> ImportMemberSnapshot(const std::string& path,
                                                const std::string& store_dir,
                                                const MemberSnapshotLimits& limits = {});

}  // namespace grid::kv::snapshot
