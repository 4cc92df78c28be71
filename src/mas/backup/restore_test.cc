// RestoreMemberDataDir, RunTool and FetchBackup without a store: fake restore tools are shell
// scripts, backups are synthetic snapshot files in a directory bucket.
#include "mas/backup/restore.h"

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/testing/temp_dir.h"
#include "mas/backup/catalog.h"
#include "mas/backup/testing/fake_bucket.h"
#include "mas/backup/testing/snapshot_files.h"

namespace grid::mas::backup {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testing::FlipByte;
using testing::WriteFakeSnapshot;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Whether `pid` runs (a zombie waiting for its new parent to reap it does not).
bool Alive(pid_t pid) {
  const std::string stat = ReadAll("/proc/" + std::to_string(pid) + "/stat");
  const size_t paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

class RestoreTest : public ::testing::Test {
 protected:
  RestoreTest() { WriteFakeSnapshot(snapshot()); }

  std::string snapshot() const { return dir_.path() + "/snap.db"; }

  // An executable /bin/sh script at <dir>/<name> with `body`.
  std::string Script(const std::string& name, const std::string& body) {
    const std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0755);
    return path;
  }

  RestoreTarget Target(const std::string& tool) {
    RestoreTarget t;
    t.name = "n2";
    t.data_dir = dir_.path() + "/n2.data";
    t.initial_cluster = "n1=http://127.0.0.1:1,n2=http://127.0.0.1:2";
    t.initial_advertise_peer_urls = "http://127.0.0.1:2";
    t.initial_cluster_token = "tok";
    t.binaries.etcdctl = tool;
    t.binaries.gridkv = tool;
    return t;
  }

  // A tool that records its arguments and ETCDCTL_API in the data dir it is given.
  std::string RecordingTool() {
    return Script("tool", R"(dir=""
prev=""
for a in "$@"; do
  if [ "$prev" = "--data-dir" ]; then dir="$a"; fi
  prev="$a"
done
mkdir -p "$dir/member"
echo "$@" > "$dir/member/args"
echo "api=$ETCDCTL_API" >> "$dir/member/args")");
  }

  grid::testing::TempDir dir_;
};

TEST_F(RestoreTest, EtcdctlGetsEtcdsFlagsAndTheDataDirAppearsWhole) {
  const RestoreTarget t = Target(RecordingTool());
  ASSERT_TRUE(RestoreMemberDataDir("etcd", snapshot(), t).ok());
  EXPECT_FALSE(fs::exists(t.data_dir + kRestoringSuffix));
  const std::string args = ReadAll(t.data_dir + "/member/args");
  EXPECT_EQ(args, "snapshot restore " + snapshot() + " --name n2 --data-dir " + t.data_dir +
                      kRestoringSuffix + " --initial-cluster " + t.initial_cluster +
                      " --initial-cluster-token tok --initial-advertise-peer-urls "
                      "http://127.0.0.1:2\napi=3\n");
  // Again: the data dir exists.
  Status again = RestoreMemberDataDir("etcd", snapshot(), t);
  EXPECT_EQ(again.code(), Code::kAlreadyExists) << again.ToString();
}

TEST_F(RestoreTest, GridkvGetsTheSameFlagsWithoutTheEtcdctlEnvironment) {
  RestoreTarget t = Target(RecordingTool());
  // A leftover of an interrupted restore is replaced.
  fs::create_directories(t.data_dir + kRestoringSuffix + "/member/stale");
  ASSERT_TRUE(RestoreMemberDataDir("gridkv", snapshot(), t).ok());
  EXPECT_FALSE(fs::exists(t.data_dir + "/member/stale"));
  EXPECT_NE(ReadAll(t.data_dir + "/member/args").find("api=\n"), std::string::npos);
}

TEST_F(RestoreTest, AFailedToolLeavesNothingAndItsOutputIsInTheError) {
  const std::string tool = Script("tool", R"(mkdir -p "$7/member"
echo "cannot restore: disk on fire" >&2
exit 3)");
  const RestoreTarget t = Target(tool);
  Status s = RestoreMemberDataDir("etcd", snapshot(), t);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("etcdctl snapshot restore of member n2"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("exit status 3: cannot restore: disk on fire"), std::string::npos)
      << s.message();
  EXPECT_FALSE(fs::exists(t.data_dir));
  EXPECT_FALSE(fs::exists(t.data_dir + kRestoringSuffix));
}

TEST_F(RestoreTest, ACorruptSnapshotIsRefusedBeforeTheToolRuns) {
  const RestoreTarget t = Target(Script("tool", "touch " + dir_.path() + "/ran"));
  const int64_t size = static_cast<int64_t>(fs::file_size(snapshot()));
  FlipByte(snapshot(), 100);
  Status s = RestoreMemberDataDir("etcd", snapshot(), t);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("snapshot " + snapshot() + ": offset " + std::to_string(size - 32)),
            std::string::npos)
      << s.message();
  FlipByte(snapshot(), 100);
  RestoreOptions wrong;
  wrong.expected_sha256 = std::string(64, '0');
  s = RestoreMemberDataDir("etcd", snapshot(), t, wrong);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("offset 0: sha256"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(dir_.path() + "/ran"));
  EXPECT_FALSE(fs::exists(t.data_dir));
  EXPECT_FALSE(fs::exists(t.data_dir + kRestoringSuffix));
}

TEST_F(RestoreTest, TargetsAreValidated) {
  RestoreTarget t = Target(RecordingTool());
  EXPECT_EQ(RestoreMemberDataDir("zookeeper", snapshot(), t).code(), Code::kInvalidArgument);
  t.name = "n3";
  Status s = RestoreMemberDataDir("etcd", snapshot(), t);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("\"n3\" is not in initial_cluster"), std::string::npos);
  t = Target(RecordingTool());
  t.initial_cluster_token.clear();
  s = RestoreMemberDataDir("etcd", snapshot(), t);
  EXPECT_NE(s.message().find("empty initial_cluster_token"), std::string::npos) << s.message();
  t = Target(RecordingTool());
  t.data_dir = dir_.path() + "/no/such/parent/d";
  EXPECT_EQ(RestoreMemberDataDir("etcd", snapshot(), t).code(), Code::kFailedPrecondition);
  EXPECT_FALSE(fs::exists(dir_.path() + "/no"));
}

TEST_F(RestoreTest, ToolTimeoutKillsTheToolAndItsChildren) {
  const std::string pid_file = dir_.path() + "/child.pid";
  RestoreTarget t = Target(Script("tool", "sleep 30 &\necho $! > " + pid_file + "\nsleep 30"));
  RestoreOptions o;
  o.tool_timeout = milliseconds(500);
  Status s = RestoreMemberDataDir("gridkv", snapshot(), t, o);
  EXPECT_EQ(s.code(), Code::kDeadlineExceeded);
  EXPECT_NE(s.message().find("tool_timeout of 500 ms"), std::string::npos) << s.message();
  EXPECT_FALSE(fs::exists(t.data_dir));
  EXPECT_FALSE(fs::exists(t.data_dir + kRestoringSuffix));
  // The background child was in the tool's process group: killed too.
  const std::string text = ReadAll(pid_file);
  ASSERT_FALSE(text.empty());
  const pid_t child = static_cast<pid_t>(std::stol(text));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (Alive(child) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_FALSE(Alive(child)) << "the tool's child " << child << " still runs";
}

TEST_F(RestoreTest, ToolOutputIsKeptUpToTheLimit) {
  const std::string limit = std::to_string(kMaxToolOutputBytes);
  // Exactly the limit after the marker: the marker's last byte is cut, the rest kept.
  const std::string at = Script(
      "at", "printf H; head -c " + limit + " /dev/zero | tr '\\0' x; exit 1");
  Status s = RunTool("t", at, {}, {}, milliseconds(10000));
  ASSERT_EQ(s.code(), Code::kFailedPrecondition);
  const std::string tail = s.message().substr(s.message().find(": x") + 2);
  EXPECT_EQ(tail, std::string(kMaxToolOutputBytes, 'x'));
  const std::string under = Script(
      "under", "printf H; head -c " + std::to_string(kMaxToolOutputBytes - 1) +
                   " /dev/zero | tr '\\0' x; exit 1");
  s = RunTool("t", under, {}, {}, milliseconds(10000));
  EXPECT_NE(s.message().find(": H" + std::string(kMaxToolOutputBytes - 1, 'x')),
            std::string::npos);
  // Much more than the limit: only the end.
  const std::string lots = Script("lots", "head -c 1000000 /dev/zero | tr '\\0' y; echo END; exit 2");
  s = RunTool("t", lots, {}, {}, milliseconds(10000));
  EXPECT_LE(s.message().size(), kMaxToolOutputBytes + 100);
  EXPECT_NE(s.message().find("exit status 2: yyy"), std::string::npos);
  EXPECT_EQ(s.message().substr(s.message().size() - 3), "END");
}

TEST_F(RestoreTest, RunToolEnvironmentAndMissingBinaries) {
  const std::string tool = Script("env", "echo \"A=$GRID_RESTORE_A\"; exit 1");
  Status s = RunTool("t", tool, {}, {"GRID_RESTORE_A=7"}, milliseconds(10000));
  EXPECT_NE(s.message().find("A=7"), std::string::npos) << s.message();
  EXPECT_TRUE(RunTool("t", "true", {}, {}, milliseconds(10000)).ok()) << "found in $PATH";
  EXPECT_EQ(RunTool("t", dir_.path() + "/missing", {}, {}, milliseconds(10000)).code(),
            Code::kNotFound);
  EXPECT_EQ(RunTool("t", "no-such-restore-tool", {}, {}, milliseconds(10000)).code(),
            Code::kNotFound);
}

class FetchBackupTest : public ::testing::Test {
 protected:
  FetchBackupTest() : bucket_(dir_.path() + "/bucket") { fs::create_directories(scratch()); }

  std::string scratch() const { return dir_.path() + "/scratch"; }

  BackupRecord Upload(const std::string& created, char seed) {
    const std::string path = dir_.path() + "/" + created + ".db";
    WriteFakeSnapshot(path, 4096, seed);
    auto info = VerifySnapshotFile(path);
    EXPECT_TRUE(info.ok());
    BackupRecord r;
    r.cluster = "main";
    r.created = created;
    r.name = BackupName("main", ParseRfc3339(created).value());
    r.engine = "etcd";
    r.version = "3.4.0";
    r.revision = 7;
    r.size_bytes = info->size_bytes;
    r.sha256 = info->sha256;
    r.member = "0000000000000001";
    r.endpoint = "http://127.0.0.1:1";
    auto stored = UploadBackup(&bucket_, r, path, scratch());
    EXPECT_TRUE(stored.ok()) << stored.status().ToString();
    return *stored;
  }

  grid::testing::TempDir dir_;
  testing::FakeDirBucket bucket_;
};

TEST_F(FetchBackupTest, LatestOrNamedAndChecked) {
  const BackupRecord old = Upload("2026-01-02T03:04:05Z", 1);
  const BackupRecord newest = Upload("2026-01-02T04:04:05Z", 2);
  const std::string local = dir_.path() + "/fetched.db";
  auto latest = FetchBackup(&bucket_, "main", kLatestBackup, local);
  ASSERT_TRUE(latest.ok()) << latest.status().ToString();
  EXPECT_EQ(latest->record, newest);
  EXPECT_EQ(latest->file.sha256, newest.sha256);
  EXPECT_EQ(DigestFile(local)->sha256, newest.sha256);
  auto named = FetchBackup(&bucket_, "main", old.name, local);
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ(named->record, old);
  EXPECT_EQ(DigestFile(local)->sha256, old.sha256);

  auto missing = FetchBackup(&bucket_, "main", "main-20990101T000000Z", local);
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  auto none = FetchBackup(&bucket_, "other", kLatestBackup, local);
  EXPECT_EQ(none.status().code(), Code::kNotFound);
  EXPECT_NE(none.status().message().find("cluster other has no verified backup at all"),
            std::string::npos)
      << none.status().message();
}

TEST_F(FetchBackupTest, ACorruptStoredSnapshotIsNotLeftLocally) {
  const BackupRecord r = Upload("2026-01-02T03:04:05Z", 1);
  const std::string stored = dir_.path() + "/bucket/" + SnapshotKey("main", r.name);
  FlipByte(stored, 1000);
  const std::string local = dir_.path() + "/fetched.db";
  auto fetched = FetchBackup(&bucket_, "main", kLatestBackup, local);
  ASSERT_EQ(fetched.status().code(), Code::kCorruption);
  const std::string& m = fetched.status().message();
  EXPECT_NE(m.find("backup " + SnapshotKey("main", r.name)), std::string::npos) << m;
  EXPECT_NE(m.find("snapshot " + local + ": offset " + std::to_string(r.size_bytes - 32)),
            std::string::npos)
      << m;
  EXPECT_FALSE(fs::exists(local));
  FlipByte(stored, 1000);

  // A valid snapshot that is not the recorded one: the record's sha256 refuses it.
  WriteFakeSnapshot(stored, 4096, 9);
  fetched = FetchBackup(&bucket_, "main", r.name, local);
  ASSERT_EQ(fetched.status().code(), Code::kCorruption);
  EXPECT_NE(fetched.status().message().find("offset 0: sha256"), std::string::npos)
      << fetched.status().message();
  EXPECT_FALSE(fs::exists(local));
}

}  // namespace
}  // namespace grid::mas::backup
