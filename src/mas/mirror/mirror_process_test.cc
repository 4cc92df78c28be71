// Mirroring between real processes: etcd 3.4 -> gridkv and gridkv -> etcd 3.4. Under a write
// load: initial copy, watch, a restart of the mirror object, a kill -9 of the standby, a
// foreign write on the standby, and a primary compacted past the persisted progress.
#include <atomic>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "client/client.h"
#include "client/testing/etcd_process.h"
#include "mas/mirror/mirror.h"

namespace grid::mas::mirror {
namespace {

using client::testing::EtcdProcess;
using client::testing::EtcdProcessOptions;
using std::chrono::milliseconds;

constexpr auto kWaitTimeout = std::chrono::seconds(30);
const std::vector<std::string> kPrefixes = {"/a/", "/b/"};

template <typename F>
bool WaitFor(F f) {
  const auto deadline = std::chrono::steady_clock::now() + kWaitTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return f();
}

std::unique_ptr<EtcdProcess> StartMember(const std::string& engine) {
  EtcdProcessOptions o;
  if (engine == "gridkv") o.binary = GRID_MIRROR_TEST_GRIDKV;
  auto m = EtcdProcess::Start(o);
  GRID_CHECK(m.ok()) << m.status().ToString();
  return std::move(m).value();
}

std::unique_ptr<client::Client> Connect(const EtcdProcess& m) {
  auto c = client::Client::Connect({m.endpoint()}, client::ClientOptions{});
  GRID_CHECK(c.ok()) << c.status().ToString();
  return std::move(c).value();
}

std::map<std::string, std::string> Dump(client::Client* c) {
  std::map<std::string, std::string> out;
  for (const auto& p : kPrefixes) {
    client::GetOptions g;
    g.prefix = true;
    auto r = c->Get(p, g);
    GRID_CHECK(r.ok()) << r.status().ToString();
    for (const auto& kv : r->kvs()) out[kv.key()] = kv.value();
  }
  return out;
}

int64_t Revision(client::Client* c) {
  auto r = c->Get("/", {});
  GRID_CHECK(r.ok()) << r.status().ToString();
  return r->header().revision();
}

class MirrorProcessTest : public ::testing::TestWithParam<std::pair<std::string, std::string>> {
 protected:
  void SetUp() override {
    primary_ = StartMember(GetParam().first);
    standby_ = StartMember(GetParam().second);
    pc_ = Connect(*primary_);
    sc_ = Connect(*standby_);
  }

  std::unique_ptr<Mirror> NewMirror() {
    MirrorOptions o;
    o.primary_endpoints = {primary_->endpoint()};
    o.standby_endpoints = {standby_->endpoint()};
    o.prefixes = kPrefixes;
    o.own_prefix = "/mirror/main";
    o.page_size = 50;
    o.limits.max_ops = 20;
    o.max_backoff = milliseconds(300);
    o.poll_interval = milliseconds(100);
    o.max_queued_updates = 1;  // the smallest queue: the watch is back-pressured throughout
    o.client_options.call_timeout = milliseconds(2000);
    auto m = Mirror::Create(o);
    GRID_CHECK(m.ok()) << m.status().ToString();
    (*m)->Start();
    return std::move(m).value();
  }

  std::unique_ptr<EtcdProcess> primary_, standby_;
  std::unique_ptr<client::Client> pc_, sc_;
};

TEST_P(MirrorProcessTest, MirrorsUnderLoadAcrossRestartsKillsAndCompaction) {
  // Before the mirror: 300 keys in the prefixes (6 copy pages), keys outside, and a stale
  // standby key the copy must delete.
  for (int i = 0; i < 300; ++i) {
    ASSERT_TRUE(pc_->Put((i % 2 ? "/a/k" : "/b/k") + std::to_string(i), "v0").ok());
  }
  ASSERT_TRUE(pc_->Put("/c/outside", "x").ok());
  ASSERT_TRUE(sc_->Put("/a/stale", "x").ok());

  // The standby's progress record, as the test sees it: every mirror transaction puts it.
  const int64_t standby_start = Revision(sc_.get());
  std::mutex mu;
  std::vector<int64_t> progress_revisions;
  int64_t progress_puts = 0;
  client::WatchOptions pw;
  pw.start_revision = standby_start + 1;
  auto progress_watch = sc_->Watch("/mirror/main/progress", pw, [&](const client::WatchUpdate& u) {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& e : u.events) {
      ++progress_puts;
      auto p = DecodeProgress(e.kv().value());
      if (p.ok() && !p->copying) progress_revisions.push_back(p->revision);
    }
  });
  ASSERT_TRUE(progress_watch.ok()) << progress_watch.status().ToString();

  std::atomic<bool> stop_writer{false};
  std::atomic<int64_t> writes{0};
  std::thread writer;
  struct JoinWriter {
    std::atomic<bool>* stop;
    std::thread* t;
    ~JoinWriter() {
      *stop = true;
      if (t->joinable()) t->join();
    }
  } join_writer{&stop_writer, &writer};
  writer = std::thread([&] {
    for (int64_t i = 0; !stop_writer; ++i) {
      const std::string n = std::to_string(i % 150);
      Status s;
      switch (i % 5) {
        case 0:
        case 1:
          s = pc_->Put("/a/k" + n, "v" + std::to_string(i)).status();
          break;
        case 2:
          s = pc_->Delete("/b/k" + n).status();
          break;
        case 3: {  // one primary revision touching three keys in two prefixes
          etcdserverpb::TxnRequest t;
          *t.add_success() = client::OpPut("/a/t" + n, std::to_string(i));
          *t.add_success() = client::OpPut("/b/t" + n, std::to_string(i));
          *t.add_success() = client::OpDelete("/a/k" + std::to_string((i + 7) % 150));
          s = pc_->Txn(t).status();
          break;
        }
        default:
          s = pc_->Put("/c/k" + n, "outside").status();
      }
      GRID_CHECK(s.ok()) << s.ToString();
      ++writes;
    }
  });

  // 1. Initial copy, then the watch.
  auto m1 = NewMirror();
  ASSERT_TRUE(WaitFor([&] { return m1->Stats().watching && m1->Stats().applied_events > 50; }))
      << m1->Stats().last_error;
  MirrorStats s1 = m1->Stats();
  EXPECT_EQ(s1.full_copies, 1);
  EXPECT_EQ(s1.last_full_copy_reason, "no progress");
  EXPECT_EQ(s1.copy_keys_deleted, 1) << "the stale standby key";
  EXPECT_GE(s1.copy_keys_put, 300);

  // 2. A new mirror object resumes from the persisted progress: no copy.
  m1->Stop();
  s1 = m1->Stats();
  m1.reset();
  auto m2 = NewMirror();
  const int64_t applied_before = m2->Stats().applied_events;
  ASSERT_TRUE(WaitFor([&] { return m2->Stats().applied_events > applied_before + 50; }))
      << m2->Stats().last_error;
  EXPECT_EQ(m2->Stats().full_copies, 0);

  // 3. kill -9 of the standby: the lag grows while it is down; the mirror resumes after it.
  standby_->Kill();
  ASSERT_TRUE(WaitFor([&] {
    MirrorStats s = m2->Stats();
    return s.sessions_failed > 0 && s.lag.revisions > 0 && s.lag.seconds > 0;
  }));
  const Lag down_lag = m2->Stats().lag;
  ASSERT_TRUE(standby_->Restart().ok()) << standby_->LogTail();
  const int64_t applied_at_restart = m2->Stats().applied_events;
  ASSERT_TRUE(WaitFor([&] { return m2->Stats().applied_events > applied_at_restart + 50; }))
      << m2->Stats().last_error;

  // 4. The load stops; the standby catches up to the primary exactly.
  stop_writer = true;
  writer.join();
  ASSERT_TRUE(pc_->Put("/a/final", "done").ok());
  const int64_t primary_final = Revision(pc_.get());
  ASSERT_TRUE(WaitFor([&] {
    Lag l = m2->Stats().lag;
    return l.applied_revision == primary_final && l.revisions == 0;
  })) << m2->Stats().last_error;
  MirrorStats s2 = m2->Stats();
  EXPECT_EQ(s2.lag.seconds, 0);
  EXPECT_EQ(Dump(sc_.get()), Dump(pc_.get()));
  EXPECT_EQ(sc_->Get("/c/outside").value().kvs_size(), 0);
  EXPECT_EQ(s2.foreign_writes, 0) << s2.last_foreign_key;
  EXPECT_EQ(s2.split_revisions, 0);

  // No batch applied twice: every standby revision since the start is one progress put, and
  // the recorded primary revisions strictly increase.
  const int64_t standby_end = Revision(sc_.get());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return progress_puts == standby_end - standby_start;
  }));
  {
    std::lock_guard<std::mutex> lock(mu);
    ASSERT_FALSE(progress_revisions.empty());
    for (size_t i = 1; i < progress_revisions.size(); ++i) {
      ASSERT_LT(progress_revisions[i - 1], progress_revisions[i]) << i;
    }
    EXPECT_EQ(progress_revisions.back(), primary_final);
    EXPECT_GE(progress_puts, s1.applied_txns + s2.applied_txns);
  }
  (*progress_watch)->Cancel();

  // 4b. Primary revisions with more events than a transaction holds (a txn of 50 puts, then
  // a range delete of the 50 keys; max_ops 20): each applied in three standby transactions,
  // two of them partial.
  etcdserverpb::TxnRequest fill;
  for (int i = 0; i < 50; ++i) *fill.add_success() = client::OpPut("/b/r/" + std::to_string(i), "r");
  ASSERT_TRUE(pc_->Txn(fill).ok());
  client::DeleteOptions range;
  range.prefix = true;
  ASSERT_TRUE(pc_->Delete("/b/r/", range).ok());
  const int64_t after_split = Revision(pc_.get());
  ASSERT_TRUE(WaitFor([&] { return m2->Stats().lag.applied_revision == after_split; }));
  EXPECT_EQ(m2->Stats().split_revisions, 4);
  EXPECT_EQ(Dump(sc_.get()), Dump(pc_.get()));

  // 5. A write on the standby by anyone else is reported.
  ASSERT_TRUE(sc_->Put("/a/foreign", "intruder").ok());
  ASSERT_TRUE(WaitFor([&] { return m2->Stats().foreign_writes == 1; }));
  EXPECT_EQ(m2->Stats().last_foreign_key, "/a/foreign");
  ASSERT_TRUE(sc_->Put("/c/foreign", "not mirrored").ok());
  ASSERT_TRUE(sc_->Put("/a/final", "done").ok() && sc_->Delete("/a/foreign").ok());
  ASSERT_TRUE(WaitFor([&] { return m2->Stats().foreign_writes == 3; }));

  // 6. The primary compacted past the persisted progress: a fresh full copy, reported, which
  // also undoes the standby's foreign state.
  m2->Stop();
  ASSERT_TRUE(sc_->Put("/a/foreign2", "x").ok());
  ASSERT_TRUE(pc_->Delete("/a/final").ok());
  ASSERT_TRUE(pc_->Put("/b/after", "y").ok());
  ASSERT_TRUE(pc_->Compact(Revision(pc_.get())).ok());
  auto m3 = NewMirror();
  ASSERT_TRUE(WaitFor([&] { return m3->Stats().watching && m3->Stats().full_copies == 1; }))
      << m3->Stats().last_error;
  MirrorStats s3 = m3->Stats();
  EXPECT_EQ(s3.last_full_copy_reason.rfind("compacted", 0), 0u) << s3.last_full_copy_reason;
  EXPECT_EQ(s3.copy_keys_deleted, 2) << "/a/final and /a/foreign2";
  EXPECT_EQ(s3.copy_keys_put, 1) << "/b/after";
  EXPECT_EQ(Dump(sc_.get()), Dump(pc_.get()));
  EXPECT_EQ(s3.lag.revisions, 0);
  std::cout << "writes " << writes << ", lag while the standby was down: " << down_lag.revisions
            << " revisions, " << down_lag.seconds << " s; mirror txns " << s1.applied_txns << " + "
            << s2.applied_txns << ", sessions failed " << s2.sessions_failed << "\n";
}

INSTANTIATE_TEST_SUITE_P(
    Engines, MirrorProcessTest,
    ::testing::Values(std::pair<std::string, std::string>{"etcd", "gridkv"},
                      std::pair<std::string, std::string>{"gridkv", "etcd"}),
    [](const auto& info) { return info.param.first + "_to_" + info.param.second; });

}  // namespace
}  // namespace grid::mas::mirror
