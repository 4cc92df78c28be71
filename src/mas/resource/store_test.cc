// ResourceStore against a real etcd 3.4 (or $GRID_TEST_ETCD_BINARY).
#include "mas/resource/store.h"

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "client/ops.h"
#include "client/testing/etcd_fixture.h"

namespace grid::mas {
namespace {

using client::testing::EtcdFixture;
using client::testing::WaitFor;

Resource Cluster(const std::string& name, int64_t members = 3) {
  Resource r;
  r.metadata.name = name;
  KVClusterSpec spec;
  spec.version = "3.4.23";
  spec.members = members;
  r.spec = spec;
  return r;
}

class ResourceStoreTest : public EtcdFixture {
 protected:
  void SetUp() override {
    EtcdFixture::SetUp();
    ResourceStoreOptions options;
    options.prefix = "/test";
    options.list_page_size = 2;  // forces several pages in List
    options.now = [] { return std::chrono::system_clock::time_point(std::chrono::seconds(60)); };
    options.new_uid = [this] { return "uid-" + std::to_string(++uids_); };
    store_ = std::make_unique<ResourceStore>(client_.get(), options);
  }
  void TearDown() override {
    store_.reset();
    EtcdFixture::TearDown();
  }

  int uids_ = 0;
  std::unique_ptr<ResourceStore> store_;
};

TEST_F(ResourceStoreTest, CreateThenDuplicate) {
  auto created = store_->Create(Cluster("a"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->metadata.generation, 1);
  EXPECT_EQ(created->metadata.uid, "uid-1");
  EXPECT_EQ(created->metadata.creation_timestamp, "1970-01-01T00:01:00Z");
  EXPECT_EQ(std::get<KVClusterSpec>(created->spec).engine, "gridkv");  // defaulted

  // Stored under the documented key, resourceVersion = its mod revision.
  auto raw = client_->Get("/test/resources/KVCluster/a");
  ASSERT_TRUE(raw.ok());
  ASSERT_EQ(raw->kvs_size(), 1);
  EXPECT_EQ(std::to_string(raw->kvs(0).mod_revision()), created->metadata.resource_version);

  auto dup = store_->Create(Cluster("a", 5));
  EXPECT_EQ(dup.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "KVCluster \"a\" already exists");
  auto got = store_->Get(Kind::kKVCluster, "a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *created);  // the duplicate wrote nothing

  auto invalid = store_->Create(Cluster("b", 0));
  EXPECT_EQ(invalid.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(invalid.status().message(),
            "KVCluster \"b\": spec.members: must be 1..7 (odd recommended), got 0");
}

TEST_F(ResourceStoreTest, GetMissing) {
  auto missing = store_->Get(Kind::kKVCluster, "nope");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_EQ(missing.status().message(), "KVCluster \"nope\" not found");
  EXPECT_EQ(store_->Get(Kind::kKVCluster, "a/b").status().code(), Code::kInvalidArgument);
}

TEST_F(ResourceStoreTest, UpdateCasAndGenerationRules) {
  auto v1 = store_->Create(Cluster("a"));
  ASSERT_TRUE(v1.ok());
  // Labels only: new resourceVersion, same generation.
  Resource labels = *v1;
  labels.metadata.labels["env"] = "prod";
  auto v2 = store_->Update(labels);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(v2->metadata.generation, 1);
  EXPECT_NE(v2->metadata.resource_version, v1->metadata.resource_version);
  // Nothing changed: no write, same resourceVersion.
  auto same = store_->Update(*v2);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->metadata.resource_version, v2->metadata.resource_version);
  // Spec change: generation + 1.
  Resource scaled = *v2;
  std::get<KVClusterSpec>(scaled.spec).members = 5;
  auto v3 = store_->Update(scaled);
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->metadata.generation, 2);
  EXPECT_EQ(store_->Get(Kind::kKVCluster, "a").value(), *v3);

  // A stale resourceVersion is a conflict and writes nothing.
  Resource stale = *v1;
  std::get<KVClusterSpec>(stale.spec).members = 7;
  auto conflict = store_->Update(stale);
  EXPECT_TRUE(IsConflict(conflict.status())) << conflict.status().ToString();
  EXPECT_EQ(conflict.status().message(),
            "KVCluster \"a\": the object has been modified; please apply your changes to the "
            "latest version and try again (resourceVersion " + v1->metadata.resource_version +
                " is stale, current " + v3->metadata.resource_version + ")");
  EXPECT_EQ(store_->Get(Kind::kKVCluster, "a").value(), *v3);

  Resource no_rv = *v3;
  no_rv.metadata.resource_version.clear();
  EXPECT_EQ(store_->Update(no_rv).status().code(), Code::kInvalidArgument);
  Resource missing = Cluster("zz");
  missing.metadata.resource_version = "5";
  EXPECT_EQ(store_->Update(missing).status().code(), Code::kNotFound);
}

TEST_F(ResourceStoreTest, RacingWritersExactlyOneWins) {
  auto v1 = store_->Create(Cluster("a"));
  ASSERT_TRUE(v1.ok());
  constexpr int kWriters = 4;
  std::atomic<int> go{0};
  std::vector<Status> results(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      Resource mine = *v1;
      std::get<KVClusterSpec>(mine.spec).members = 1 + 2 * (i % 4);  // 1, 3, 5, 7
      std::get<KVClusterSpec>(mine.spec).version = "v" + std::to_string(i);
      go.fetch_add(1);
      while (go.load() < kWriters) std::this_thread::yield();
      results[i] = store_->Update(mine).status();
    });
  }
  for (auto& t : threads) t.join();
  int wins = 0;
  int winner = -1;
  for (int i = 0; i < kWriters; ++i) {
    if (results[i].ok()) {
      ++wins;
      winner = i;
    } else {
      EXPECT_TRUE(IsConflict(results[i])) << results[i].ToString();
    }
  }
  ASSERT_EQ(wins, 1);
  auto final_state = store_->Get(Kind::kKVCluster, "a");
  ASSERT_TRUE(final_state.ok());
  EXPECT_EQ(std::get<KVClusterSpec>(final_state->spec).version, "v" + std::to_string(winner));
  EXPECT_EQ(final_state->metadata.generation, 2);
}

TEST_F(ResourceStoreTest, UpdateStatusKeepsSpecAndGeneration) {
  auto v1 = store_->Create(Cluster("a"));
  ASSERT_TRUE(v1.ok());
  ResourceStatus st;
  st.phase = Phase::kProvision;
  st.observed_generation = 1;
  st.operation = {{"name", "Provision"}, {"step", 1}};
  SetCondition(&st, {"Available", ConditionStatus::kFalse, "Starting", "0/3 members", ""},
               "1970-01-01T00:01:00Z");
  auto v2 = store_->UpdateStatus(Kind::kKVCluster, "a", st, v1->metadata.resource_version);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(v2->metadata.generation, 1);
  EXPECT_EQ(v2->spec, v1->spec);
  EXPECT_EQ(v2->status, st);
  EXPECT_EQ(store_->Get(Kind::kKVCluster, "a").value(), *v2);

  // Stale: refused, nothing written.
  ResourceStatus later = st;
  later.phase = Phase::kReady;
  auto stale = store_->UpdateStatus(Kind::kKVCluster, "a", later, v1->metadata.resource_version);
  EXPECT_TRUE(IsConflict(stale.status())) << stale.status().ToString();
  EXPECT_EQ(store_->Get(Kind::kKVCluster, "a")->status.phase, Phase::kProvision);

  // An Update never writes status: a spec update keeps the stored status.
  Resource scaled = *v2;
  scaled.status = ResourceStatus{};
  std::get<KVClusterSpec>(scaled.spec).members = 5;
  auto v3 = store_->Update(scaled);
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(v3->status, st);
  EXPECT_EQ(v3->metadata.generation, 2);

  // Status over the stored-size limit.
  ResourceStatus huge = st;
  huge.operation["blob"] = std::string(kMaxResourceBytes, 'x');
  auto too_big = store_->UpdateStatus(Kind::kKVCluster, "a", huge, v3->metadata.resource_version);
  EXPECT_EQ(too_big.status().code(), Code::kResourceExhausted);
  EXPECT_NE(too_big.status().message().find("limit 1048576"), std::string::npos);
}

TEST_F(ResourceStoreTest, DeleteWithPrecondition) {
  auto v1 = store_->Create(Cluster("a"));
  ASSERT_TRUE(v1.ok());
  Resource labels = *v1;
  labels.metadata.labels["x"] = "y";
  auto v2 = store_->Update(labels);
  ASSERT_TRUE(v2.ok());
  Status stale = store_->Delete(Kind::kKVCluster, "a", v1->metadata.resource_version);
  EXPECT_TRUE(IsConflict(stale)) << stale.ToString();
  EXPECT_TRUE(store_->Get(Kind::kKVCluster, "a").ok());
  EXPECT_TRUE(store_->Delete(Kind::kKVCluster, "a", v2->metadata.resource_version).ok());
  EXPECT_EQ(store_->Get(Kind::kKVCluster, "a").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->Delete(Kind::kKVCluster, "a", v2->metadata.resource_version).code(),
            Code::kNotFound);
  EXPECT_EQ(store_->Delete(Kind::kKVCluster, "a").code(), Code::kNotFound);
  ASSERT_TRUE(store_->Create(Cluster("b")).ok());
  EXPECT_TRUE(store_->Delete(Kind::kKVCluster, "b").ok());
}

// A store with a write fence (a leader's election key at its create revision): every kind of
// write goes through while the key holds, and once the key is gone (the writer was deposed)
// every write is refused as fence-lost and nothing is written, even when the object has not
// changed since it was read. A stale write stays a conflict.
TEST_F(ResourceStoreTest, WriteFenceRefusesADeposedWriter) {
  const std::string election_key = "/test/leader/694d7a";
  auto put = client_->Put(election_key, "replica-a");
  ASSERT_TRUE(put.ok());
  const int64_t token = put->header().revision();
  ResourceStoreOptions options = store_->options();
  options.write_fence =
      client::CompareCreateRevision(election_key, etcdserverpb::Compare::EQUAL, token);
  ResourceStore fenced(client_.get(), options);

  auto v1 = fenced.Create(Cluster("a"));
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  ResourceStatus st;
  st.phase = Phase::kProvision;
  auto v2 = fenced.UpdateStatus(Kind::kKVCluster, "a", st, v1->metadata.resource_version);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  ASSERT_TRUE(fenced.Create(Cluster("b")).ok());
  ASSERT_TRUE(fenced.Delete(Kind::kKVCluster, "b").ok());
  EXPECT_EQ(fenced.Delete(Kind::kKVCluster, "b").code(), Code::kNotFound);
  ASSERT_TRUE(fenced.Create(Cluster("c")).ok());

  // Deposed: the election key is gone (a new term would recreate it at a later revision).
  ASSERT_TRUE(client_->Delete(election_key).ok());
  ASSERT_TRUE(client_->Put(election_key, "replica-b").ok());
  const int64_t before = client_->Get("/test/x")->header().revision();

  ResourceStatus late = st;
  late.phase = Phase::kRun;
  auto refused = fenced.UpdateStatus(Kind::kKVCluster, "a", late, v2->metadata.resource_version);
  EXPECT_TRUE(IsFenceLost(refused.status())) << refused.status().ToString();
  EXPECT_FALSE(IsConflict(refused.status()));
  EXPECT_NE(refused.status().message().find("\"/test/leader/694d7a\" create revision " +
                                            std::to_string(token)),
            std::string::npos)
      << refused.status().ToString();
  Resource scaled = *v2;
  std::get<KVClusterSpec>(scaled.spec).members = 5;
  EXPECT_TRUE(IsFenceLost(fenced.Update(scaled).status()));
  EXPECT_TRUE(IsFenceLost(fenced.Create(Cluster("d")).status()));
  EXPECT_TRUE(IsFenceLost(fenced.Delete(Kind::kKVCluster, "c")));
  EXPECT_TRUE(IsFenceLost(fenced.Delete(Kind::kKVCluster, "a", v2->metadata.resource_version)));
  // A stale version is still reported as a conflict, and a missing object as not found.
  EXPECT_TRUE(IsConflict(
      fenced.UpdateStatus(Kind::kKVCluster, "a", late, v1->metadata.resource_version).status()));
  EXPECT_EQ(fenced.Delete(Kind::kKVCluster, "zz").code(), Code::kFailedPrecondition);

  // Nothing was written.
  EXPECT_EQ(client_->Get("/test/x")->header().revision(), before);
  EXPECT_EQ(store_->Get(Kind::kKVCluster, "a").value(), *v2);
  EXPECT_TRUE(store_->Get(Kind::kKVCluster, "c").ok());
  EXPECT_EQ(store_->Get(Kind::kKVCluster, "d").status().code(), Code::kNotFound);
  // The unfenced store is unaffected.
  EXPECT_TRUE(store_->UpdateStatus(Kind::kKVCluster, "a", late, v2->metadata.resource_version).ok());
}

TEST_F(ResourceStoreTest, ListPagesOneKind) {
  for (const char* name : {"e", "a", "c", "b", "d"}) ASSERT_TRUE(store_->Create(Cluster(name)).ok());
  Resource fleet;
  fleet.metadata.name = "a";
  fleet.spec = RouterFleetSpec{.replicas = 2, .version = "v1", .routes_prefix = "/r/", .l4_front = {}};
  ASSERT_TRUE(store_->Create(fleet).ok());
  auto list = store_->List(Kind::kKVCluster);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::vector<std::string> names;
  for (const auto& r : list->items) names.push_back(r.metadata.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "b", "c", "d", "e"}));
  auto fleets = store_->List(Kind::kRouterFleet);
  ASSERT_TRUE(fleets.ok());
  ASSERT_EQ(fleets->items.size(), 1u);
  EXPECT_EQ(fleets->items[0].kind(), Kind::kRouterFleet);
  EXPECT_GE(list->revision, std::stoll(list->items.back().metadata.resource_version));
}

TEST_F(ResourceStoreTest, ListLimit) {
  ResourceStoreOptions options;
  options.prefix = "/test";
  options.list_page_size = 2;
  options.max_list_items = 3;
  ResourceStore small(client_.get(), options);
  for (const char* name : {"a", "b", "c"}) ASSERT_TRUE(small.Create(Cluster(name)).ok());
  auto at_limit = small.List(Kind::kKVCluster);
  ASSERT_TRUE(at_limit.ok());
  EXPECT_EQ(at_limit->items.size(), 3u);
  ASSERT_TRUE(small.Create(Cluster("d")).ok());
  EXPECT_EQ(small.List(Kind::kKVCluster).status().code(), Code::kResourceExhausted);
}

TEST_F(ResourceStoreTest, WatchDeliversTypedEventsInOrderFromARevision) {
  auto v1 = store_->Create(Cluster("a"));
  ASSERT_TRUE(v1.ok());
  Resource scaled = *v1;
  std::get<KVClusterSpec>(scaled.spec).members = 5;
  auto v2 = store_->Update(scaled);
  ASSERT_TRUE(v2.ok());
  Resource fleet;
  fleet.metadata.name = "f";
  fleet.spec = RouterFleetSpec{.replicas = {}, .version = "v1", .routes_prefix = "/r/", .l4_front = {}};
  ASSERT_TRUE(store_->Create(fleet).ok());  // another kind: not delivered

  std::mutex mu;
  std::vector<ResourceEvent> events;
  auto watch = store_->Watch(Kind::kKVCluster, std::stoll(v1->metadata.resource_version),
                             [&](const ResourceWatchUpdate& u) {
                               EXPECT_TRUE(u.status.ok()) << u.status.ToString();
                               std::lock_guard<std::mutex> lock(mu);
                               for (const auto& e : u.events) events.push_back(e);
                             });
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  ASSERT_TRUE(store_->Delete(Kind::kKVCluster, "a").ok());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return events.size() >= 3;
  }));
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, EventType::kAdded);
  EXPECT_EQ(events[0].resource, *v1);
  EXPECT_EQ(events[1].type, EventType::kModified);
  EXPECT_EQ(events[1].resource, *v2);
  EXPECT_EQ(events[2].type, EventType::kDeleted);
  EXPECT_EQ(events[2].resource, *v2);  // the last version before deletion
  EXPECT_LT(events[0].revision, events[1].revision);
  EXPECT_LT(events[1].revision, events[2].revision);
}

TEST_F(ResourceStoreTest, WatchFromACompactedRevisionEnds) {
  auto v1 = store_->Create(Cluster("a"));
  ASSERT_TRUE(v1.ok());
  auto v2 = store_->Create(Cluster("b"));
  ASSERT_TRUE(v2.ok());
  ASSERT_TRUE(client_->Compact(std::stoll(v2->metadata.resource_version)).ok());
  std::mutex mu;
  Status ended;
  auto watch = store_->Watch(Kind::kKVCluster, std::stoll(v1->metadata.resource_version),
                             [&](const ResourceWatchUpdate& u) {
                               std::lock_guard<std::mutex> lock(mu);
                               if (!u.status.ok()) ended = u.status;
                             });
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return !ended.ok();
  }));
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(ended.code(), Code::kOutOfRange) << ended.ToString();
}

TEST_F(ResourceStoreTest, CorruptStoredValues) {
  std::mutex mu;
  std::vector<ResourceWatchUpdate> updates;
  auto watch = store_->Watch(Kind::kKVCluster, 0, [&](const ResourceWatchUpdate& u) {
    std::lock_guard<std::mutex> lock(mu);
    updates.push_back(u);
  });
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(client_->Put("/test/resources/KVCluster/bad", "{not json").ok());
  ASSERT_TRUE(store_->Create(Cluster("good")).ok());
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu);
    return updates.size() >= 2;
  }));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(updates[0].status.code(), Code::kCorruption);
    EXPECT_TRUE(updates[0].events.empty());
    ASSERT_EQ(updates[1].events.size(), 1u);  // the watch goes on
    EXPECT_EQ(updates[1].events[0].resource.metadata.name, "good");
  }
  EXPECT_EQ(store_->Get(Kind::kKVCluster, "bad").status().code(), Code::kCorruption);
  EXPECT_EQ(store_->List(Kind::kKVCluster).status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace grid::mas
