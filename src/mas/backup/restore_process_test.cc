// A backup of a real single-member etcd 3.4 / gridkv, restored into a NEW 3-member cluster of
// the same engine (etcd's documented disaster recovery): every member's data dir from the same
// snapshot with the same initial cluster, members started with those flags, HashKV at the
// backup's revision equal on every member, every key, value and revision equal to the source.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "client/client.h"
#include "client/testing/etcd_process.h"
#include "common/testing/temp_dir.h"
#include "mas/backup/catalog.h"
#include "mas/backup/job.h"
#include "mas/backup/restore.h"
#include "mas/backup/testing/snapshot_files.h"
#include "mas/bucket/local_dir_bucket.h"
#include "mas/runtime/process.h"

namespace grid::mas::backup {
namespace {

namespace fs = std::filesystem;
using client::testing::EtcdProcess;
using client::testing::EtcdProcessOptions;
using client::testing::PickFreePort;

constexpr int kRestoredMembers = 3;
constexpr int kKeys = 200;
constexpr auto kHealthyTimeout = std::chrono::seconds(30);

std::string FindInPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "";
  size_t start = 0;
  while (start <= dirs.size()) {
    const size_t end = std::min(dirs.find(':', start), dirs.size());
    const std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "";
}

struct KeyState {
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  bool operator==(const KeyState&) const = default;
};

std::map<std::string, KeyState> Dump(client::Client* c) {
  client::GetOptions all;
  all.from_key = true;
  auto resp = c->Get(std::string(1, '\0'), all);
  EXPECT_TRUE(resp.ok()) << resp.status().ToString();
  std::map<std::string, KeyState> out;
  if (!resp.ok()) return out;
  for (const auto& kv : resp->kvs()) {
    out[kv.key()] = KeyState{kv.value(), kv.create_revision(), kv.mod_revision(), kv.version()};
  }
  return out;
}

// One member of the restored cluster, started as a plain child process; killed on destruction.
struct Member {
  std::string name;
  int client_port = 0;
  int peer_port = 0;
  std::string data_dir;
  std::string log_path;
  runtime::ProcessId process;

  std::string client_url() const { return "http://127.0.0.1:" + std::to_string(client_port); }
  std::string peer_url() const { return "http://127.0.0.1:" + std::to_string(peer_port); }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port); }

  ~Member() {
    if (process.pid > 0) {
      runtime::SignalGroup(process, true, SIGKILL);
      int ws = 0;
      ::waitpid(process.pid, &ws, 0);
    }
  }
};

class RestoreProcessTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    EtcdProcessOptions o;
    if (engine() == "gridkv") o.binary = GRID_RESTORE_TEST_GRIDKV;
    auto source = EtcdProcess::Start(o);
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    source_ = std::move(source).value();
    auto c = client::Client::Connect({source_->endpoint()}, client::ClientOptions{});
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
    auto b = bucket::LocalDirBucket::Open(dir_.path() + "/bucket");
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    bucket_ = std::move(b).value();
    fs::create_directories(scratch());
    fs::create_directories(dir_.path() + "/members");
  }

  const std::string& engine() const { return GetParam(); }
  std::string scratch() const { return dir_.path() + "/scratch"; }
  std::string server_binary() const {
    return engine() == "gridkv" ? std::string(GRID_RESTORE_TEST_GRIDKV) : FindInPath("etcd");
  }

  RestoreTarget TargetOf(const Member& m, const std::string& initial_cluster) const {
    RestoreTarget t;
    t.name = m.name;
    t.data_dir = m.data_dir;
    t.initial_cluster = initial_cluster;
    t.initial_advertise_peer_urls = m.peer_url();
    t.initial_cluster_token = "restored-main";
    t.binaries.gridkv = GRID_RESTORE_TEST_GRIDKV;
    t.binaries.etcdctl = "etcdctl";
    return t;
  }

  Status Start(Member* m, const std::string& initial_cluster) const {
    runtime::SpawnRequest r;
    r.binary = server_binary();
    r.args = {"--name", m->name,
              "--data-dir", m->data_dir,
              "--listen-client-urls", m->client_url(),
              "--advertise-client-urls", m->client_url(),
              "--listen-peer-urls", m->peer_url(),
              "--initial-advertise-peer-urls", m->peer_url(),
              "--initial-cluster", initial_cluster,
              "--initial-cluster-token", "restored-main",
              "--initial-cluster-state", "new"};
    r.log_path = m->log_path;
    r.working_dir = dir_.path();
    GRID_ASSIGN_OR_RETURN(m->process, runtime::SpawnProcess(r));
    return Status::Ok();
  }

  // Polls until every member answers Status and knows a leader.
  Status WaitHealthy(const std::vector<std::unique_ptr<Member>>& members) const {
    const auto deadline = std::chrono::steady_clock::now() + kHealthyTimeout;
    client::ClientOptions quick;
    quick.dial_timeout = std::chrono::milliseconds(500);
    quick.call_timeout = std::chrono::milliseconds(1000);
    std::string last;
    for (const auto& m : members) {
      for (;;) {
        auto c = client::Client::Connect({m->endpoint()}, quick);
        if (c.ok()) {
          auto s = (*c)->MemberStatus();
          if (s.ok() && s->leader() != 0) break;
          last = s.ok() ? "no leader" : s.status().ToString();
        } else {
          last = c.status().ToString();
        }
        if (std::chrono::steady_clock::now() > deadline) {
          return Status(Code::kDeadlineExceeded, m->name + " not healthy: " + last);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    return Status::Ok();
  }

  grid::testing::TempDir dir_;
  std::unique_ptr<EtcdProcess> source_;
  std::unique_ptr<client::Client> client_;
  std::unique_ptr<bucket::Bucket> bucket_;
};

TEST_P(RestoreProcessTest, BackupRestoredIntoANewThreeMemberCluster) {
  // Keys written, a quarter overwritten, a tenth deleted: revisions and versions differ.
  for (int i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(client_->Put("key" + std::to_string(1000 + i), "v1-" + std::to_string(i)).ok());
  }
  for (int i = 0; i < kKeys; i += 4) {
    ASSERT_TRUE(client_->Put("key" + std::to_string(1000 + i), "v2-" + std::to_string(i)).ok());
  }
  for (int i = 5; i < kKeys; i += 10) {
    ASSERT_TRUE(client_->Delete("key" + std::to_string(1000 + i)).ok());
  }
  const std::map<std::string, KeyState> source_keys = Dump(client_.get());
  ASSERT_EQ(source_keys.size(), static_cast<size_t>(kKeys - kKeys / 10));
  auto source_status = client_->MemberStatus();
  ASSERT_TRUE(source_status.ok());

  BackupJobOptions jo;
  jo.scratch_dir = scratch();
  BackupJob job(bucket_.get(), jo);
  auto backup = job.Run(BackupTarget{"main", engine(), "3.4.23", {source_->client_url()}},
                        RetentionPolicy{2, 0, 0, 0});
  ASSERT_TRUE(backup.ok()) << backup.status().ToString();
  const BackupRecord& record = backup->record;
  ASSERT_TRUE(record.hash_kv.has_value()) << backup->hash_kv_error;
  EXPECT_EQ(record.revision, source_status->header().revision());

  const std::string fetched_path = dir_.path() + "/fetched.db";
  auto fetched = FetchBackup(bucket_.get(), "main", kLatestBackup, fetched_path);
  ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
  EXPECT_EQ(fetched->record, record);

  std::vector<std::unique_ptr<Member>> members;
  std::string initial_cluster;
  for (int i = 0; i < kRestoredMembers; ++i) {
    auto m = std::make_unique<Member>();
    m->name = "m" + std::to_string(i);
    auto client_port = PickFreePort();
    auto peer_port = PickFreePort();
    ASSERT_TRUE(client_port.ok() && peer_port.ok());
    m->client_port = *client_port;
    m->peer_port = *peer_port;
    m->data_dir = dir_.path() + "/members/" + m->name;
    m->log_path = dir_.path() + "/" + m->name + ".log";
    initial_cluster += (i == 0 ? "" : ",") + m->name + "=" + m->peer_url();
    members.push_back(std::move(m));
  }

  // A corrupted copy of the download is refused before any data dir is made.
  const std::string bad_path = dir_.path() + "/bad.db";
  fs::copy_file(fetched_path, bad_path);
  testing::FlipByte(bad_path, record.size_bytes / 2);
  Status refused =
      RestoreMemberDataDir(engine(), bad_path, TargetOf(*members[0], initial_cluster));
  EXPECT_EQ(refused.code(), Code::kCorruption) << refused.ToString();
  EXPECT_NE(refused.message().find("snapshot " + bad_path + ": offset"), std::string::npos)
      << refused.message();
  EXPECT_TRUE(fs::is_empty(dir_.path() + "/members"));

  RestoreOptions ro;
  ro.expected_sha256 = record.sha256;
  for (const auto& m : members) {
    Status restored =
        RestoreMemberDataDir(engine(), fetched_path, TargetOf(*m, initial_cluster), ro);
    ASSERT_TRUE(restored.ok()) << restored.ToString();
    EXPECT_FALSE(fs::exists(m->data_dir + kRestoringSuffix));
  }
  for (const auto& m : members) ASSERT_TRUE(Start(m.get(), initial_cluster).ok());
  Status healthy = WaitHealthy(members);
  ASSERT_TRUE(healthy.ok()) << healthy.ToString();

  std::vector<std::string> endpoints;
  for (const auto& m : members) endpoints.push_back(m->client_url());
  auto verified = VerifyRestored(endpoints, record);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  ASSERT_EQ(verified->size(), members.size());
  for (const MemberHash& h : *verified) {
    EXPECT_EQ(h.hash_kv, *record.hash_kv);
    EXPECT_EQ(h.current_revision, record.revision) << h.endpoint << ": nothing written yet";
  }

  // Every member holds the source's keys with their values and revisions; a new cluster id.
  for (const auto& m : members) {
    auto c = client::Client::Connect({m->endpoint()}, client::ClientOptions{});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(Dump(c->get()), source_keys) << m->name;
    auto status = (*c)->MemberStatus();
    ASSERT_TRUE(status.ok());
    EXPECT_NE(status->header().cluster_id(), source_status->header().cluster_id());
    auto list = (*c)->MemberList();
    ASSERT_TRUE(list.ok());
    EXPECT_EQ(list->members_size(), kRestoredMembers);
  }

  // Writes after the restore leave the hash at the backup's revision as it was.
  auto writer = client::Client::Connect({members[1]->endpoint()}, client::ClientOptions{});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Put("after-restore", "x").ok());
  auto again = VerifyRestored(endpoints, record);
  EXPECT_TRUE(again.ok()) << again.status().ToString();

  // A record that does not match: each member named with both hashes.
  BackupRecord other = record;
  other.hash_kv = *record.hash_kv + 1;
  auto mismatch = VerifyRestored(endpoints, other);
  ASSERT_EQ(mismatch.status().code(), Code::kCorruption);
  for (const auto& m : members) {
    EXPECT_NE(mismatch.status().message().find(m->client_url() + " (member "), std::string::npos)
        << mismatch.status().message();
  }
  EXPECT_NE(mismatch.status().message().find(
                "is " + std::to_string(*record.hash_kv) + ", the backup's is " +
                std::to_string(*other.hash_kv)),
            std::string::npos)
      << mismatch.status().message();
  BackupRecord ahead = record;
  ahead.revision = record.revision + 1000;
  EXPECT_EQ(VerifyRestored(endpoints, ahead).status().code(), Code::kOutOfRange);
}

INSTANTIATE_TEST_SUITE_P(Engines, RestoreProcessTest, ::testing::Values("etcd", "gridkv"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace grid::mas::backup
