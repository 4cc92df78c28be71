// Restore of a backup into a NEW store cluster of N members, as etcd's documented disaster
// recovery does it: every member's data dir is made from the same snapshot file with the same
// initial cluster, then the members are started with those flags and form a cluster that holds
// the snapshot's keyspace (same keys, values, revisions) under a new cluster id.
//
//   1. FetchBackup: the record (latest or named) and its snapshot.db, downloaded and checked
//      against the record's size and sha256.
//   2. RestoreMemberDataDir, once per member: the engine's own restore tool
//      (`etcdctl snapshot restore` for etcd, `gridkv snapshot restore` for gridkv) into a
//      temporary directory beside the data dir, renamed into place when it succeeded.
//   3. The caller starts the members with the same --name, --initial-cluster,
//      --initial-cluster-token and --initial-advertise-peer-urls (and a new --data-dir).
//   4. VerifyRestored: HashKV at the record's revision on every member equals the record's.
//
// Thread-safety: free functions; concurrent calls must use different paths.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "mas/backup/record.h"
#include "mas/backup/snapshot.h"
#include "mas/bucket/bucket.h"

namespace grid::mas::backup {

// A restore tool's combined stdout and stderr is kept up to this many bytes (its last bytes)
// for the error message.
inline constexpr size_t kMaxToolOutputBytes = 4096;
// FetchBackup's name that means the newest verified backup.
inline constexpr char kLatestBackup[] = "latest";
// Suffix of the temporary directory a data dir is restored into (beside it, then renamed).
inline constexpr char kRestoringSuffix[] = ".restoring";

// The restore tools, each an absolute path or a name looked up in $PATH.
struct RestoreBinaries {
  std::string gridkv = "gridkv";
  std::string etcdctl = "etcdctl";
};

// One member of the new cluster. The same flags must be given to the member when it starts.
struct RestoreTarget {
  std::string name;             // --name; must appear in initial_cluster
  std::string data_dir;         // must not exist; its parent must
  std::string initial_cluster;  // "n1=http://h:p,n2=http://h:p,..." (the whole new cluster)
  std::string initial_advertise_peer_urls;  // this member's, comma-separated
  std::string initial_cluster_token;        // new per restored cluster
  RestoreBinaries binaries;
};

struct RestoreOptions {
  // The restore tool is killed (and nothing is left) after this long. A restore reads the
  // whole snapshot once and writes it once: minutes for the largest backends.
  std::chrono::milliseconds tool_timeout{std::chrono::minutes(10)};
  // When set, the snapshot file's sha256 (whole file) must equal it (a record's sha256).
  std::string expected_sha256;
};

// Makes `target.data_dir` from the snapshot file for `engine` ("etcd" or "gridkv"):
// VerifySnapshotFile (and expected_sha256) first, so a corrupt file is refused before any
// directory is made; then the tool writes "<data_dir>.restoring" (a leftover one from an
// interrupted restore is removed first), which is fsynced and renamed to data_dir, and the
// parent fsynced: data_dir exists only complete. Errors: InvalidArgument (engine, empty
// field, name not in initial_cluster), AlreadyExists (data_dir exists), Corruption (the
// file's check, with file and offset), DeadlineExceeded naming tool_timeout, FailedPrecondition
// with the tool's exit and the tail of its output (kMaxToolOutputBytes) when it fails.
[[nodiscard]] Status RestoreMemberDataDir(const std::string& engine,
                                         const std::string& snapshot_path,
                                         const RestoreTarget& target,
                                         const RestoreOptions& options = {});

struct FetchedBackup {
  BackupRecord record;
  SnapshotFileInfo file;  // of the downloaded file: equal to the record's size and sha256
};

// Finds `name` (or the newest with kLatestBackup) among ListBackups(bucket, cluster), downloads
// its snapshot.db to `local_path` (whole or nothing) and checks it: VerifySnapshotFile, then
// size and sha256 against the record. On a failed check the file is removed and the error is
// Corruption naming the object, the file and the offset. NotFound when the cluster has no
// such (verified, complete) backup; the skipped records are named in the message.
Result<FetchedBackup> FetchBackup(bucket::Bucket* bucket, const std::string& cluster,
                                  const std::string& name, const std::string& local_path);

struct VerifyRestoredOptions {
  std::chrono::milliseconds dial_timeout{5000};
  std::chrono::milliseconds call_timeout{5000};  // each Status and HashKV
};

struct MemberHash {
  std::string endpoint;
  uint64_t member_id = 0;
  int64_t current_revision = 0;
  uint32_t hash_kv = 0;  // at the record's revision
};

// Asks every endpoint for Status and HashKV(record.revision): each member's current revision
// must be >= record.revision and its hash equal record.hash_kv. Returns each member's values
// when all agree. Errors name every failing member: Corruption "<endpoint> (member <id>):
// HashKV at revision R is H, the backup's is B"; OutOfRange when a member is behind the
// revision; Unavailable when a member does not answer; FailedPrecondition when the record has
// no hashKv or no endpoints are given.
Result<std::vector<MemberHash>> VerifyRestored(const std::vector<std::string>& endpoints,
                                               const BackupRecord& record,
                                               const VerifyRestoredOptions& options = {});

// Runs `binary` with `args` and `env` added to this process's environment (same names
// replaced), stdin /dev/null, stdout and stderr together into a pipe. OK when it exits 0;
// FailedPrecondition "<what>: <exit>: <last kMaxToolOutputBytes of its output>" otherwise;
// DeadlineExceeded (after SIGKILL to its process group) past `timeout`; NotFound when the
// binary cannot be executed. Exposed for tests.
[[nodiscard]] Status RunTool(const std::string& what, const std::string& binary,
                             const std::vector<std::string>& args,
                             const std::vector<std::string>& env,
                             std::chrono::milliseconds timeout);

}  // namespace grid::mas::backup
