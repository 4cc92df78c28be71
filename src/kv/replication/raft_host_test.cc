// Real threads, real WALs in temp dirs, messages routed in memory between members: the raft
// thread's pipeline (propose, persist, send, commit, apply, read index, timeouts) end to end.
#include "kv/replication/raft_host.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "common/testing/temp_dir.h"
#include "kv/server/errors.h"
#include "storage/wal/wal_test_util.h"

namespace grid::kv::replication {
namespace {

using namespace std::chrono_literals;

template <typename Pred>
bool PollUntil(Pred pred, std::chrono::milliseconds limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return pred();
}

class Cluster;

// Holds every fdatasync of a WAL while closed (a slow disk, on demand).
class SyncGate {
 public:
  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  void Open() {
    std::lock_guard lock(mu_);
    closed_ = false;
    cv_.notify_all();
  }
  int waiting() {
    std::lock_guard lock(mu_);
    return waiting_;
  }
  void Pass() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.wait(lock, [this] { return !closed_; });
    --waiting_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;  // GUARDED_BY(mu_)
  int waiting_ = 0;      // GUARDED_BY(mu_)
};

// One member: WAL in its own dir, a key->value state machine kept in memory (it survives a
// restart of the host, as a durable backend would).
struct Member {
  uint64_t id = 0;
  std::unique_ptr<testing::TempDir> dir;
  SyncGate gate;
  wal::wal_testing::FaultEnv env;  // outlives the host and its WAL; syncs pass `gate`
  WaitRegistry waits;
  std::mutex mu;
  std::map<std::string, std::string> kv;  // GUARDED_BY(mu)
  uint64_t applied = 0;                   // GUARDED_BY(mu)
  // While set, committed entries are kept in `held` instead of applied (a slow apply side).
  bool hold_applies = false;              // GUARDED_BY(mu)
  std::vector<wal::Entry> held;           // GUARDED_BY(mu)
  std::unique_ptr<PeerSender> router;
  std::unique_ptr<RaftHost> host;

  std::string Get(const std::string& key) {
    std::lock_guard lock(mu);
    auto it = kv.find(key);
    return it == kv.end() ? "" : it->second;
  }
  uint64_t Applied() {
    std::lock_guard lock(mu);
    return applied;
  }
};

class Router final : public PeerSender {
 public:
  Router(Cluster* cluster, uint64_t from) : cluster_(cluster), from_(from) {}
  void Send(std::vector<raft::Message> messages) override;

 private:
  Cluster* cluster_;
  uint64_t from_;
};

class Cluster {
 public:
  explicit Cluster(int n, int election_ticks = 10) : election_ticks_(election_ticks) {
    for (int i = 1; i <= n; ++i) ids_.push_back(static_cast<uint64_t>(i));
    for (uint64_t id : ids_) {
      auto m = std::make_unique<Member>();
      m->id = id;
      m->dir = std::make_unique<testing::TempDir>("raft_host");
      m->env.faults.before_data_sync = [gate = &m->gate] { gate->Pass(); };
      members_[id] = std::move(m);
    }
    for (uint64_t id : ids_) Open(id, /*fresh=*/true);
    for (uint64_t id : ids_) members_[id]->host->Start();
  }
  ~Cluster() {
    for (auto& [id, m] : members_) m->gate.Open();
    for (auto& [id, m] : members_) {
      if (m->host) m->host->Stop();
    }
  }

  Member& member(uint64_t id) { return *members_.at(id); }
  const std::vector<uint64_t>& ids() const { return ids_; }

  // Cuts (or restores) both directions between `a` and everyone else.
  void Isolate(uint64_t a, bool cut) {
    std::lock_guard lock(mu_);
    if (cut) {
      isolated_.insert(a);
    } else {
      isolated_.erase(a);
    }
  }
  bool Delivers(uint64_t from, uint64_t to) {
    std::lock_guard lock(mu_);
    return !isolated_.count(from) && !isolated_.count(to);
  }
  void Deliver(uint64_t to, raft::Message m) {
    RaftHost* host = nullptr;
    {
      std::lock_guard lock(mu_);
      auto it = members_.find(to);
      if (it == members_.end() || !running_.count(to)) return;
      if (auto held = held_.find(to); held != held_.end()) {
        held->second.push_back(std::move(m));
        return;
      }
      host = it->second->host.get();
    }
    host->Receive({std::move(m)});
  }

  // Messages to `to` are kept, in order, until released.
  void Hold(uint64_t to) {
    std::lock_guard lock(mu_);
    held_[to];
  }
  // 1 + the position of the first held message to `to` that carries entries; 0 if none does.
  size_t HeldThroughEntries(uint64_t to) {
    std::lock_guard lock(mu_);
    const std::vector<raft::Message>& held = held_.at(to);
    for (size_t i = 0; i < held.size(); ++i) {
      if (!held[i].entries.empty()) return i + 1;
    }
    return 0;
  }
  // The number of entries of each held proposal (kProp) to `to`, in order.
  std::vector<size_t> HeldProposalSizes(uint64_t to) {
    std::lock_guard lock(mu_);
    std::vector<size_t> sizes;
    for (const raft::Message& m : held_.at(to)) {
      if (m.type == raft::MessageType::kProp) sizes.push_back(m.entries.size());
    }
    return sizes;
  }
  // Hands the first `n` held messages to `to` in one batch (one inbox for its raft thread).
  void ReleaseHeld(uint64_t to, size_t n) {
    std::lock_guard lock(mu_);
    std::vector<raft::Message>& held = held_.at(to);
    std::vector<raft::Message> batch(std::make_move_iterator(held.begin()),
                                     std::make_move_iterator(held.begin() + n));
    held.erase(held.begin(), held.begin() + n);
    members_.at(to)->host->Receive(std::move(batch));
  }
  // Hands every held message to `to` in one batch and stops holding, with nothing overtaking.
  void ReleaseAllHeld(uint64_t to) {
    std::lock_guard lock(mu_);
    std::vector<raft::Message> batch = std::move(held_.at(to));
    held_.erase(to);
    members_.at(to)->host->Receive(std::move(batch));
  }

  // The member every live member agrees leads, or 0.
  uint64_t AgreedLeader(const std::set<uint64_t>& among) {
    uint64_t leader = 0;
    for (uint64_t id : among) {
      const uint64_t l = members_[id]->host->leader_id();
      if (l == 0 || (leader != 0 && l != leader)) return 0;
      leader = l;
    }
    return leader;
  }
  uint64_t WaitLeader(const std::set<uint64_t>& among) {
    uint64_t leader = 0;
    EXPECT_TRUE(PollUntil([&] { return (leader = AgreedLeader(among)) != 0; }));
    return leader;
  }
  std::set<uint64_t> All() const { return {ids_.begin(), ids_.end()}; }

  void Restart(uint64_t id) {
    {
      std::lock_guard lock(mu_);
      running_.erase(id);
    }
    members_[id]->host->Stop();
    members_[id]->host.reset();
    Open(id, /*fresh=*/false);
    members_[id]->host->Start();
  }

 private:
  void Open(uint64_t id, bool fresh) {
    Member& m = *members_[id];
    wal::Options options;
    options.dir = m.dir->path() + "/wal";
    options.segment_bytes = 1 << 20;
    options.env = &m.env;
    wal::ReplayResult replay;
    std::unique_ptr<wal::Wal> wal;
    if (fresh) {
      auto created = wal::Wal::Create(options, wal::Metadata{7, id});
      ASSERT_TRUE(created.ok()) << created.status().ToString();
      wal = std::move(*created);
      std::vector<std::string> contexts;
      for (uint64_t member : ids_) {
        kvpb::InternalRequest add;
        add.mutable_member_change()->mutable_member()->set_id(member);
        contexts.push_back(add.SerializeAsString());
      }
      auto boot = BootstrapLog(wal.get(), 0, ids_, contexts);
      ASSERT_TRUE(boot.ok()) << boot.status().ToString();
      replay = std::move(*boot);
    } else {
      auto opened = wal::Wal::Open(options, &replay);
      ASSERT_TRUE(opened.ok()) << opened.status().ToString();
      wal = std::move(*opened);
    }
    raft::ConfState conf;
    for (uint64_t member : ids_) conf.voters.push_back(raft::MemberId(member));
    auto log = std::make_unique<DurableLog>(std::move(wal), std::move(replay), conf);
    m.router = std::make_unique<Router>(this, id);
    RaftHostOptions host_options;
    host_options.member_id = id;
    host_options.tick_ms = 10;
    host_options.election_ticks = election_ticks_;
    host_options.start_time_ms = 1000 * id;
    host_options.fresh_cluster = fresh;
    host_options.request_timeout_ms = 1500;
    RaftHostDeps deps;
    deps.waits = &m.waits;
    deps.peers = m.router.get();
    Member* raw = &m;
    deps.sink = [raw](std::vector<wal::Entry> entries) { Apply(raw, std::move(entries)); };
    auto host = RaftHost::Create(host_options, std::move(log), m.Applied(), std::move(deps));
    ASSERT_TRUE(host.ok()) << host.status().ToString();
    m.host = std::move(*host);
    std::lock_guard lock(mu_);
    running_.insert(id);
  }

 public:
  // Applies what was held and stops holding. Nothing else may be committed meanwhile.
  static void ReleaseApplies(Member* m) {
    std::vector<wal::Entry> held;
    {
      std::lock_guard lock(m->mu);
      m->hold_applies = false;
      held.swap(m->held);
    }
    if (!held.empty()) Apply(m, std::move(held));
  }

 private:

  static void Apply(Member* m, std::vector<wal::Entry> entries) {
    {
      std::lock_guard lock(m->mu);
      if (m->hold_applies) {
        for (auto& e : entries) m->held.push_back(std::move(e));
        return;
      }
    }
    uint64_t last = 0;
    for (const wal::Entry& e : entries) {
      last = e.index;
      {
        std::lock_guard lock(m->mu);
        if (e.index <= m->applied) continue;
      }
      if (e.type != wal::kEntryNormal || e.data.empty()) {
        if (e.type == wal::kEntryConfChange) {
          kvpb::InternalRequest r;
          ASSERT_TRUE(r.ParseFromString(e.data));
          if (ApplyCallback done = m->waits.Take(r.id())) done(Status::Ok(), {});
        }
        continue;
      }
      kvpb::InternalRequest request;
      ASSERT_TRUE(request.ParseFromString(e.data));
      {
        std::lock_guard lock(m->mu);
        m->kv[request.put().key()] = request.put().value();
      }
      if (ApplyCallback done = m->waits.Take(request.id())) done(Status::Ok(), {});
    }
    {
      std::lock_guard lock(m->mu);
      m->applied = std::max(m->applied, last);
    }
    m->host->OnApplied(last);
  }

  std::vector<uint64_t> ids_;
  const int election_ticks_;
  std::map<uint64_t, std::unique_ptr<Member>> members_;
  std::mutex mu_;
  std::map<uint64_t, std::vector<raft::Message>> held_;  // GUARDED_BY(mu_)
  std::set<uint64_t> isolated_;  // GUARDED_BY(mu_)
  std::set<uint64_t> running_;   // GUARDED_BY(mu_)
};

void Router::Send(std::vector<raft::Message> messages) {
  for (auto& m : messages) {
    const uint64_t to = m.to.value();
    if (cluster_->Delivers(from_, to)) cluster_->Deliver(to, std::move(m));
  }
}

kvpb::InternalRequest PutRequest(const std::string& key, const std::string& value) {
  kvpb::InternalRequest r;
  r.mutable_put()->set_key(key);
  r.mutable_put()->set_value(value);
  return r;
}

// Proposes a put and waits for its answer.
Status Put(RaftHost& host, const std::string& key, const std::string& value) {
  std::promise<Status> answered;
  host.Propose(PutRequest(key, value),
               [&](const Status& s, kvpb::InternalResponse) { answered.set_value(s); });
  return answered.get_future().get();
}

Status Barrier(RaftHost& host) {
  std::promise<Status> answered;
  host.ReadBarrier([&](const Status& s) { answered.set_value(s); });
  return answered.get_future().get();
}

TEST(RaftHostTest, SingleMemberElectsItselfAtTermTwoAndCommits) {
  Cluster c(1);
  RaftHost& host = *c.member(1).host;
  ASSERT_EQ(c.WaitLeader(c.All()), 1u);
  EXPECT_EQ(host.term(), 2u);  // bootstrap entries at term 1, then the election: as etcd
  std::vector<std::thread> writers;
  for (int t = 0; t < 4; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE(Put(host, "k" + std::to_string(t) + "-" + std::to_string(i), "v").ok());
      }
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_TRUE(Barrier(host).ok());
  EXPECT_EQ(c.member(1).Get("k3-49"), "v");
  // 1 bootstrap entry + the leader's empty entry + 200 puts.
  EXPECT_EQ(host.committed_index(), 202u);
}

TEST(RaftHostTest, RestartKeepsTheLogAndElectsInANewTerm) {
  Cluster c(1);
  ASSERT_EQ(c.WaitLeader(c.All()), 1u);
  ASSERT_TRUE(Put(*c.member(1).host, "a", "1").ok());
  const uint64_t committed = c.member(1).host->committed_index();
  c.Restart(1);
  ASSERT_EQ(c.WaitLeader(c.All()), 1u);
  EXPECT_EQ(c.member(1).host->term(), 3u);
  ASSERT_TRUE(Put(*c.member(1).host, "b", "2").ok());
  EXPECT_EQ(c.member(1).host->committed_index(), committed + 2);  // empty entry + put
}

TEST(RaftHostTest, SoleVotingLeaderReadsLocallyOnlyOnceItsTermsFirstEntryIsApplied) {
  Cluster c(1);
  ASSERT_EQ(c.WaitLeader(c.All()), 1u);
  ASSERT_TRUE(PollUntil([&] { return c.member(1).host->LocalReadIsLinearizable(); }));
  ASSERT_TRUE(Put(*c.member(1).host, "a", "1").ok());
  const uint64_t committed = c.member(1).host->committed_index();
  {
    std::lock_guard lock(c.member(1).mu);
    c.member(1).hold_applies = true;
  }
  c.Restart(1);
  RaftHost& host = *c.member(1).host;
  ASSERT_EQ(c.WaitLeader(c.All()), 1u);
  // The new term's empty entry is committed but not applied: reads must wait for it.
  ASSERT_TRUE(PollUntil([&] { return host.committed_index() == committed + 1; }));
  EXPECT_FALSE(host.LocalReadIsLinearizable());
  Cluster::ReleaseApplies(&c.member(1));
  EXPECT_TRUE(PollUntil([&] { return host.LocalReadIsLinearizable(); }));
}

TEST(RaftHostTest, NoMemberOfThreeReadsLocally) {
  Cluster c(3);
  const uint64_t leader = c.WaitLeader(c.All());
  ASSERT_NE(leader, 0u);
  ASSERT_TRUE(Put(*c.member(leader).host, "k", "v").ok());
  for (uint64_t id : c.ids()) {
    ASSERT_TRUE(Barrier(*c.member(id).host).ok());
    EXPECT_FALSE(c.member(id).host->LocalReadIsLinearizable()) << "member " << id;
  }
}

TEST(RaftHostTest, ThreeMembersReplicateAndFollowersForwardProposals) {
  Cluster c(3);
  const uint64_t leader = c.WaitLeader(c.All());
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader % 3 + 1;
  ASSERT_TRUE(Put(*c.member(follower).host, "x", "from-follower").ok());
  ASSERT_TRUE(Put(*c.member(leader).host, "y", "from-leader").ok());
  for (uint64_t id : c.ids()) {
    ASSERT_TRUE(Barrier(*c.member(id).host).ok());  // §6.4: a read on any member sees both
    EXPECT_EQ(c.member(id).Get("x"), "from-follower") << "member " << id;
    EXPECT_EQ(c.member(id).Get("y"), "from-leader") << "member " << id;
  }
}

// Reads that reach a follower together share one ReadIndex request; each must still see
// every write acknowledged before it started.
TEST(RaftHostTest, ConcurrentFollowerReadsEachSeeTheWritesBeforeThem) {
  Cluster c(3);
  const uint64_t leader = c.WaitLeader(c.All());
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader % 3 + 1;
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        const std::string key = "c" + std::to_string(t);
        const std::string value = std::to_string(i);
        ASSERT_TRUE(Put(*c.member(leader).host, key, value).ok());
        ASSERT_TRUE(Barrier(*c.member(follower).host).ok());
        EXPECT_EQ(c.member(follower).Get(key), value) << key;
      }
    });
  }
  for (auto& client : clients) client.join();
}

TEST(RaftHostTest, IsolatedLeaderIsReplacedAndItsRequestsFailThenItCatchesUp) {
  Cluster c(3);
  const uint64_t old_leader = c.WaitLeader(c.All());
  ASSERT_NE(old_leader, 0u);
  c.Isolate(old_leader, true);
  std::set<uint64_t> rest = c.All();
  rest.erase(old_leader);
  uint64_t new_leader = 0;
  ASSERT_TRUE(PollUntil([&] {
    new_leader = c.AgreedLeader(rest);
    return new_leader != 0 && new_leader != old_leader;
  }));
  ASSERT_TRUE(Put(*c.member(new_leader).host, "k", "new").ok());
  // The cut-off member cannot commit or confirm a read: both fail, neither hangs.
  EXPECT_FALSE(Put(*c.member(old_leader).host, "k", "lost").ok());
  EXPECT_FALSE(Barrier(*c.member(old_leader).host).ok());
  c.Isolate(old_leader, false);
  ASSERT_TRUE(PollUntil([&] { return Barrier(*c.member(old_leader).host).ok(); }));
  EXPECT_EQ(c.member(old_leader).Get("k"), "new");
}

TEST(RaftHostTest, FollowerRestartCatchesUp) {
  Cluster c(3);
  const uint64_t leader = c.WaitLeader(c.All());
  const uint64_t follower = leader % 3 + 1;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Put(*c.member(leader).host, "k", std::to_string(i)).ok());
  c.Restart(follower);
  ASSERT_TRUE(Put(*c.member(leader).host, "k", "last").ok());
  ASSERT_TRUE(PollUntil([&] { return c.member(follower).Get("k") == "last"; }));
}

TEST(RaftHostTest, LeadershipTransfer) {
  Cluster c(3);
  const uint64_t leader = c.WaitLeader(c.All());
  const uint64_t target = leader % 3 + 1;
  ASSERT_TRUE(Put(*c.member(leader).host, "k", "v").ok());
  std::promise<Status> moved;
  c.member(leader).host->TransferLeadership(target, [&](const Status& s) { moved.set_value(s); });
  ASSERT_TRUE(moved.get_future().get().ok());
  EXPECT_EQ(c.WaitLeader(c.All()), target);
  ASSERT_TRUE(Put(*c.member(target).host, "k", "after").ok());
}

// A member applies the entries it holds durably as soon as it learns they are committed, while
// the sync of newer entries is still running (etcd applies in parallel with its WAL save); it
// never applies an entry before that entry is durable.
// Proposes puts of `value_sizes` on a follower while its raft thread waits in a sync, so that
// they wait in one inbox; returns the entry counts of the proposals it forwarded to the leader,
// once every put was answered OK.
std::vector<size_t> ForwardedProposalSizes(const std::vector<size_t>& value_sizes) {
  Cluster c(3, /*election_ticks=*/500);  // the held follower must not campaign
  const uint64_t leader = c.WaitLeader(c.All());
  const uint64_t follower = leader % 3 + 1;
  // The follower's raft thread waits in a sync of "a" (committed without it) ...
  c.member(follower).gate.Close();
  EXPECT_TRUE(Put(*c.member(leader).host, "a", "1").ok());
  EXPECT_TRUE(PollUntil([&] { return c.member(follower).gate.waiting() == 1; }));
  // ... while the proposals pile up in its inbox.
  std::atomic<size_t> ok{0};
  for (size_t i = 0; i < value_sizes.size(); ++i) {
    const std::string key = "k" + std::to_string(i);
    c.member(follower).host->Propose(PutRequest(key, std::string(value_sizes[i], 'v')),
                                     [&](const Status& s, kvpb::InternalResponse) {
                                       if (s.ok()) ok.fetch_add(1);
                                     });
  }
  c.Hold(leader);
  c.member(follower).gate.Open();
  EXPECT_TRUE(PollUntil([&] {
    size_t forwarded = 0;
    for (size_t n : c.HeldProposalSizes(leader)) forwarded += n;
    return forwarded == value_sizes.size();
  }));
  std::vector<size_t> sizes = c.HeldProposalSizes(leader);
  c.ReleaseAllHeld(leader);
  EXPECT_TRUE(PollUntil([&] { return ok.load() == value_sizes.size(); }));
  return sizes;
}

TEST(RaftHostTest, ProposalsThatArriveTogetherAreForwardedAsOneMessage) {
  EXPECT_EQ(ForwardedProposalSizes(std::vector<size_t>(20, 10)), std::vector<size_t>{20});
}

// A run holds at most 1 MiB of proposals (kMaxProposalRunBytes); one larger goes alone.
TEST(RaftHostTest, AProposalRunStopsAtOneMebibyte) {
  // Each request is its value plus a few bytes of framing: two of 400 KiB fit, a third not.
  EXPECT_EQ(ForwardedProposalSizes({400 << 10, 400 << 10, 400 << 10}), (std::vector<size_t>{2, 1}));
  EXPECT_EQ(ForwardedProposalSizes({(1 << 20) + 1, 10}), (std::vector<size_t>{1, 1}));
}

TEST(RaftHostTest, FollowerAppliesCommittedEntriesWhileNewerEntriesSync) {
  Cluster c(3, /*election_ticks=*/500);  // the held follower must not campaign
  const uint64_t leader = c.WaitLeader(c.All());
  const uint64_t follower = leader % 3 + 1;
  RaftHost& lead = *c.member(leader).host;
  ASSERT_TRUE(Put(lead, "a", "1").ok());
  ASSERT_TRUE(PollUntil([&] { return c.member(follower).Get("a") == "1"; }));

  // The follower syncs "b" but does not hear that it is committed.
  c.Hold(follower);
  ASSERT_TRUE(Put(lead, "b", "2").ok());  // committed by the leader and the third member
  const uint64_t b_index = lead.status().last_index.value();
  size_t through_b = 0;
  ASSERT_TRUE(PollUntil([&] { return (through_b = c.HeldThroughEntries(follower)) != 0; }));
  c.ReleaseHeld(follower, through_b);
  ASSERT_TRUE(PollUntil([&] {
    const raft::NodeStatus st = lead.status();
    auto it = st.progress.find(raft::MemberId(follower));
    return it != st.progress.end() && it->second.match.value() >= b_index;
  }));
  EXPECT_EQ(c.member(follower).Get("b"), "");

  // Its next sync (of "c") hangs; the same batch tells it "b" is committed.
  c.member(follower).gate.Close();
  ASSERT_TRUE(Put(lead, "c", "3").ok());
  ASSERT_TRUE(PollUntil([&] { return c.HeldThroughEntries(follower) != 0; }));
  c.ReleaseAllHeld(follower);
  EXPECT_TRUE(PollUntil([&] {
    return c.member(follower).gate.waiting() == 1 && c.member(follower).Get("b") == "2";
  })) << "the follower did not apply a durable committed entry while a later sync ran";
  EXPECT_EQ(c.member(follower).Get("c"), "");  // not durable there yet

  c.member(follower).gate.Open();
  EXPECT_TRUE(PollUntil([&] { return c.member(follower).Get("c") == "3"; }));
}

}  // namespace
}  // namespace grid::kv::replication
