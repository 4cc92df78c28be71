// The etcd backend layout: a store exported and imported again, and files written by a real
// etcd 3.4 (`etcd` and `etcdctl` on PATH, or GRID_ETCD_BIN / GRID_ETCDCTL_BIN).
#include "kv/snapshot/etcd_backend.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "grid/internal.pb.h"
#include "kv/snapshot/snapshot_file.h"
#include "storage/bolt/reader.h"

namespace grid::kv::snapshot {
namespace {
namespace fs = std::filesystem;

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
const std::string kEtcd = Env("GRID_ETCD_BIN", "etcd");
const std::string kEtcdctl = Env("GRID_ETCDCTL_BIN", "etcdctl");

// Runs a shell command; returns its stdout and sets *code to its exit status.
std::string RunShell(const std::string& cmd, int* code) {
  std::string out;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (p == nullptr) {
    *code = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  GRID_CHECK(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A real etcd on loopback, stopped by the destructor.
class EtcdProcess {
 public:
  explicit EtcdProcess(const std::string& data_dir) {
    const std::string client = "http://127.0.0.1:" + std::to_string(FreePort());
    const std::string peer = "http://127.0.0.1:" + std::to_string(FreePort());
    endpoint_ = client;
    std::vector<std::string> args = {kEtcd,
                                     "--data-dir", data_dir,
                                     "--listen-client-urls", client,
                                     "--advertise-client-urls", client,
                                     "--listen-peer-urls", peer,
                                     "--initial-advertise-peer-urls", peer,
                                     "--initial-cluster", "default=" + peer};
    pid_ = fork();
    GRID_CHECK(pid_ >= 0);
    if (pid_ == 0) {
      FILE* log = fopen((data_dir + ".log").c_str(), "w");
      if (log) {
        dup2(fileno(log), 1);
        dup2(fileno(log), 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp(argv[0], argv.data());
      _exit(127);
    }
  }
  ~EtcdProcess() {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  // Polls until etcd answers, with a deadline.
  bool WaitReady() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      int code = 0;
      Ctl("endpoint health", &code);
      if (code == 0) return true;
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) return false;  // exited
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  std::string Ctl(const std::string& args, int* code) const {
    return RunShell("ETCDCTL_API=3 " + kEtcdctl + " --endpoints=" + endpoint_ + " " + args, code);
  }
  std::string MustCtl(const std::string& args) const {
    int code = 0;
    std::string out = Ctl(args, &code);
    EXPECT_EQ(code, 0) << "etcdctl " << args;
    return out;
  }

 private:
  pid_t pid_ = -1;
  std::string endpoint_;
};

class EtcdBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "grid-etcdbe-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string Path(const std::string& name) const { return (root_ / name).string(); }

  static std::unique_ptr<mvcc::Store> Open(const std::string& dir) {
    mvcc::Options o;
    o.dir = dir;
    auto s = mvcc::Store::Open(o);
    GRID_CHECK(s.ok()) << s.status().ToString();
    return std::move(s).value();
  }
  static void Put(mvcc::Store& s, const std::string& k, const std::string& v, int64_t lease = 0) {
    auto b = s.BeginBatch();
    b->BeginTxn().Put(k, v, lease);
    b->EndTxn();
    ASSERT_TRUE(b->Commit().ok());
  }
  static std::map<std::string, std::map<std::string, std::string>> ReadBolt(
      const std::string& path, uint64_t db_bytes) {
    bolt::ReaderOptions o;
    o.db_bytes = db_bytes;
    auto r = bolt::Reader::Open(path, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::map<std::string, std::map<std::string, std::string>> out;
    std::string bucket;
    bolt::Visitor v;
    v.on_bucket = [&](std::string_view b) {
      bucket.assign(b);
      out[bucket];
      return Status::Ok();
    };
    v.on_entry = [&](std::string_view k, std::string_view val, bool) {
      out[bucket][std::string(k)] = std::string(val);
      return Status::Ok();
    };
    Status s = (*r)->Walk(v);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }
  // db + its SHA-256: what Maintenance.Snapshot streams.
  std::string AddChecksum(const std::string& db) {
    const std::string snap = db + ".snap";
    std::ofstream out(snap, std::ios::binary);
    EXPECT_TRUE(StreamWithSha256(db, 32 * 1024, [&](std::string_view c, uint64_t) {
                  out.write(c.data(), static_cast<std::streamsize>(c.size()));
                  return true;
                }).ok());
    return snap;
  }

  fs::path root_;
};

TEST_F(EtcdBackendTest, ExportImportRoundTrip) {
  auto store = Open(Path("a"));
  Put(*store, "foo", "1");           // 2
  Put(*store, "foo", "2");           // 3
  Put(*store, "leased", "x", 0x77);  // 4
  for (int i = 0; i < 3000; ++i) Put(*store, "k" + std::to_string(i), std::string(100, 'v'));
  kvpb::LeaseRecord lease;
  lease.set_id(0x77);
  lease.set_ttl_seconds(100);
  lease.set_remaining_ttl_seconds(60);
  kvpb::AlarmRecord alarm;
  alarm.set_member_id(0xabc);
  alarm.set_alarm(etcdserverpb::NOSPACE);
  {
    auto b = store->BeginBatch();
    b->PutMeta(kLeaseTable, std::string("\0\0\0\0\0\0\0\x77", 8), lease.SerializeAsString());
    b->PutMeta(kAlarmTable, AlarmTableKey(0xabc, etcdserverpb::NOSPACE), alarm.SerializeAsString());
    b->SetConsistentIndex(99);
    ASSERT_TRUE(b->Commit().ok());
  }
  ASSERT_TRUE(store->Compact(3).ok());

  ExportOptions options;
  options.member = MemberInfo{0x8e9e05c52164694d, "default", {"http://127.0.0.1:2380"}, {}};
  auto stats = ExportEtcdBackend(*store, Path("db"), options);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->revisions, 3002u);  // revision 2 compacted away
  EXPECT_EQ(stats->leases, 1u);

  auto buckets = ReadBolt(Path("db"), 0);
  for (const char* b : {"alarm", "auth", "authRoles", "authUsers", "cluster", "key", "lease",
                        "members", "members_removed", "meta"}) {
    EXPECT_TRUE(buckets.count(b)) << b;
  }
  EXPECT_EQ(buckets["key"].size(), 3002u);
  EXPECT_EQ(buckets["meta"]["finishedCompactRev"],
            std::string("\0\0\0\0\0\0\0\x03_\0\0\0\0\0\0\0\0", 17));
  EXPECT_EQ(buckets["cluster"]["clusterVersion"], "3.4.0");
  EXPECT_EQ(buckets["members"]["8e9e05c52164694d"],
            R"({"id":10276657743932975437,"peerURLs":["http://127.0.0.1:2380"],"name":"default"})");
  etcdserverpb::AlarmMember am;
  ASSERT_EQ(buckets["alarm"].size(), 1u);
  ASSERT_TRUE(am.ParseFromString(buckets["alarm"].begin()->first));
  EXPECT_EQ(am.memberid(), 0xabcu);
  EXPECT_EQ(am.alarm(), etcdserverpb::NOSPACE);

  auto imported = ImportEtcdBackend(Path("db"), 0, Path("b"));
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->consistent_index, 99u);
  EXPECT_EQ(imported->alarms, 1u);
  auto copy = Open(Path("b"));
  EXPECT_EQ(copy->CurrentRevision(), store->CurrentRevision());
  EXPECT_EQ(copy->CompactedRevision(), 3);
  EXPECT_EQ(copy->HashKV(0)->hash, store->HashKV(0)->hash);
  EXPECT_EQ(copy->ReadMeta(kLeaseTable).value(), store->ReadMeta(kLeaseTable).value());
  EXPECT_EQ(copy->ReadMeta(kAlarmTable).value(), store->ReadMeta(kAlarmTable).value());
  EXPECT_EQ(copy->ConsistentIndex(), 99u);
}

TEST_F(EtcdBackendTest, RestoreRefusesACorruptSnapshot) {
  auto store = Open(Path("a"));
  Put(*store, "foo", "1");
  ASSERT_TRUE(ExportEtcdBackend(*store, Path("db")).ok());
  const std::string snap = AddChecksum(Path("db"));
  {
    std::fstream f(snap, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(5000);
    f.put('\x5a');
  }
  auto r = RestoreEtcdSnapshot(snap, Path("b"));
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find("expected sha256"), std::string::npos);
  EXPECT_FALSE(fs::exists(Path("b")));
}

// A gridkv export is a snapshot etcdctl accepts: status reports the store's revision and key
// count (checking bbolt's page accounting on the way).
TEST_F(EtcdBackendTest, EtcdctlSnapshotStatusReadsAnExport) {
  auto store = Open(Path("a"));
  for (int i = 0; i < 2000; ++i) Put(*store, "k" + std::to_string(i % 500), std::string(i, 'v'));
  ASSERT_TRUE(ExportEtcdBackend(*store, Path("db")).ok());
  const std::string snap = AddChecksum(Path("db"));
  int code = 0;
  std::string out = RunShell("ETCDCTL_API=3 " + kEtcdctl + " snapshot status -w json " + snap, &code);
  ASSERT_EQ(code, 0) << out;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["revision"].get<int64_t>(), 2001);
  // Revisions plus cluster/clusterVersion (this store has no meta rows yet).
  EXPECT_EQ(j["totalKey"].get<int64_t>(), 2000 + 1);
}

// Golden: a snapshot written by a real etcd 3.4 reads and imports correctly.
TEST_F(EtcdBackendTest, ReadsASnapshotWrittenByEtcd) {
  std::string lease_hex;
  {
    EtcdProcess etcd(Path("etcd"));
    ASSERT_TRUE(etcd.WaitReady()) << "etcd did not start (is etcd on PATH?)";
    etcd.MustCtl("put foo bar");  // 2
    etcd.MustCtl("put foo baz");  // 3
    etcd.MustCtl("put a 1");      // 4
    std::string granted = etcd.MustCtl("lease grant 100");
    ASSERT_EQ(granted.rfind("lease ", 0), 0u) << granted;
    lease_hex = granted.substr(6, granted.find(' ', 6) - 6);
    etcd.MustCtl("put withlease x --lease=" + lease_hex);  // 5
    etcd.MustCtl("del a");                                   // 6
    etcd.MustCtl("compact 3");
    etcd.MustCtl("snapshot save " + Path("etcd.snap"));
  }
  auto db_bytes = VerifySha256(Path("etcd.snap"));
  ASSERT_TRUE(db_bytes.ok()) << db_bytes.status().ToString();
  auto buckets = ReadBolt(Path("etcd.snap"), *db_bytes);
  EXPECT_EQ(buckets["key"].size(), 4u);  // foo@3, a@4, withlease@5, a@6 (tombstone)
  EXPECT_EQ(buckets["key"].rbegin()->first.back(), 't');
  EXPECT_EQ(buckets["lease"].size(), 1u);
  EXPECT_EQ(buckets["members"].size(), 1u);
  EXPECT_EQ(buckets["meta"]["finishedCompactRev"].size(), 17u);

  auto imported = RestoreEtcdSnapshot(Path("etcd.snap"), Path("store"));
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->revisions, 4u);
  EXPECT_EQ(imported->leases, 1u);
  EXPECT_GT(imported->consistent_index, 0u);
  auto store = Open(Path("store"));
  EXPECT_EQ(store->CurrentRevision(), 6);
  EXPECT_EQ(store->CompactedRevision(), 3);
  EXPECT_EQ(store->ConsistentIndex(), imported->consistent_index);
  auto foo = store->Range("foo", "", {});
  ASSERT_EQ(foo->kvs.size(), 1u);
  EXPECT_EQ(foo->kvs[0].value(), "baz");
  EXPECT_EQ(foo->kvs[0].create_revision(), 2);
  EXPECT_EQ(foo->kvs[0].version(), 2);
  auto leased = store->Range("withlease", "", {});
  ASSERT_EQ(leased->kvs.size(), 1u);
  const int64_t lease_id = static_cast<int64_t>(std::stoull(lease_hex, nullptr, 16));
  EXPECT_EQ(leased->kvs[0].lease(), lease_id);
  EXPECT_TRUE(store->Range("a", "", {})->kvs.empty());
  auto leases = store->ReadMeta(kLeaseTable);
  ASSERT_EQ(leases->size(), 1u);
  kvpb::LeaseRecord record;
  ASSERT_TRUE(record.ParseFromString((*leases)[0].second));
  EXPECT_EQ(record.id(), lease_id);
  EXPECT_EQ(record.ttl_seconds(), 100);
}

}  // namespace
}  // namespace grid::kv::snapshot
