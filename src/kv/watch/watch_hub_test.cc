#include "kv/watch/watch_hub.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include <map>

#include "kv/watch/event_encoding.h"
#include "kv/watch/fake_event_source.h"

namespace grid::kv::watch {
namespace {

using testing::FakeEventSource;
using Kind = WatchOutput::Kind;

constexpr auto kDeadline = std::chrono::seconds(20);

// Polls `pred` until true or the deadline; returns its last value.
template <typename Pred>
bool Eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

struct Harness {
  explicit Harness(HubOptions options = {}, size_t page_events = 1000)
      : source(page_events), hub(&source, options) {}

  void Put(const std::string& k, const std::string& v) { Commit(source.Put(k, v)); }
  void Delete(const std::string& k) { Commit(source.Delete(k)); }
  void Commit(std::vector<mvccpb::Event> events) {
    hub.OnCommit(std::move(events), source.CurrentRevision());
  }

  FakeEventSource source;
  WatchHub hub;
};

std::vector<WatchOutput> Drain(WatchStream& s) {
  std::vector<WatchOutput> out;
  while (auto o = s.Next()) out.push_back(std::move(*o));
  return out;
}

// (revision, key) of every event, in output order.
std::vector<std::pair<int64_t, std::string>> EventList(const std::vector<WatchOutput>& outs) {
  std::vector<std::pair<int64_t, std::string>> events;
  for (const auto& o : outs) {
    for (const auto& ev : o.events) events.emplace_back(ev->kv().mod_revision(), ev->kv().key());
  }
  return events;
}

// Drains `s` until `count` events arrived (or the deadline); returns every output.
std::vector<WatchOutput> DrainEvents(WatchStream& s, size_t count) {
  std::vector<WatchOutput> all;
  size_t n = 0;
  Eventually([&] {
    while (auto o = s.Next()) {
      n += o->events.size();
      all.push_back(std::move(*o));
    }
    return n >= count;
  });
  return all;
}

WatchSpec Key(const std::string& key, int64_t start = 0) {
  WatchSpec spec;
  spec.key = key;
  spec.start_revision = start;
  return spec;
}

WatchSpec Range(const std::string& key, const std::string& end, int64_t start = 0) {
  WatchSpec spec = Key(key, start);
  spec.range_end = end;
  return spec;
}

TEST(WatchHubTest, SingleKeyWatcherSeesOnlyItsKeyInOrder) {
  Harness h;
  auto s = h.hub.NewStream(nullptr);
  auto created = s->Watch(Key("a"));
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->watch_id, 0);
  EXPECT_EQ(created->revision, 0);
  h.Put("a", "1");
  h.Put("b", "1");
  h.Put("a", "2");
  h.Delete("a");
  auto outs = Drain(*s);
  ASSERT_EQ(EventList(outs),
            (std::vector<std::pair<int64_t, std::string>>{{1, "a"}, {3, "a"}, {4, "a"}}));
  EXPECT_EQ(outs.back().events.back()->type(), mvccpb::Event::DELETE);
  EXPECT_EQ(outs.back().revision, 4);
}

TEST(WatchHubTest, RangeFromKeyAndAllKeys) {
  Harness h;
  auto s = h.hub.NewStream(nullptr);
  const int64_t range = s->Watch(Range("b", "d"))->watch_id;
  const int64_t from_key = s->Watch(Range("c", std::string(1, '\0')))->watch_id;
  const int64_t all = s->Watch(Range("", std::string(1, '\0')))->watch_id;
  for (const char* k : {"a", "b", "c", "d", "zz"}) h.Put(k, "v");
  std::map<int64_t, std::vector<std::string>> got;
  for (const auto& o : Drain(*s)) {
    for (const auto& ev : o.events) got[o.watch_id].push_back(ev->kv().key());
  }
  EXPECT_EQ(got[range], (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(got[from_key], (std::vector<std::string>{"c", "d", "zz"}));
  EXPECT_EQ(got[all], (std::vector<std::string>{"a", "b", "c", "d", "zz"}));
}

TEST(WatchHubTest, CreateErrorsUseEtcdTexts) {
  HubOptions options;
  options.max_watchers_per_stream = 2;
  Harness h(options);
  auto s = h.hub.NewStream(nullptr);
  auto empty = s->Watch(Range("b", "a"));
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), kErrEmptyRange);

  WatchSpec with_id = Key("a");
  with_id.watch_id = 1;
  ASSERT_EQ(s->Watch(with_id)->watch_id, 1);
  auto dup = s->Watch(with_id);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.status().message(), kErrDuplicateId);

  ASSERT_EQ(s->Watch(Key("a"))->watch_id, 0);  // auto ids start at 0 and skip used ids
  auto third = s->Watch(Key("a"));             // at the limit of 2
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().message(), kErrTooManyWatchers);
  EXPECT_TRUE(s->Cancel(0));
  EXPECT_FALSE(s->Cancel(0));
  EXPECT_EQ(s->Watch(Key("a"))->watch_id, 2);
}

TEST(WatchHubTest, FiltersAndPrevKv) {
  Harness h;
  auto s = h.hub.NewStream(nullptr);
  WatchSpec no_put = Key("k");
  no_put.no_put = true;
  WatchSpec no_delete = Key("k");
  no_delete.no_delete = true;
  no_delete.prev_kv = true;
  const int64_t a = s->Watch(no_put)->watch_id;
  const int64_t b = s->Watch(no_delete)->watch_id;
  h.Put("k", "1");
  h.Put("k", "2");
  h.Delete("k");
  std::map<int64_t, std::vector<mvccpb::Event::EventType>> types;
  for (const auto& o : Drain(*s)) {
    EXPECT_EQ(o.prev_kv, o.watch_id == b);
    for (const auto& ev : o.events) types[o.watch_id].push_back(ev->type());
  }
  EXPECT_EQ(types[a], (std::vector<mvccpb::Event::EventType>{mvccpb::Event::DELETE}));
  EXPECT_EQ(types[b], (std::vector<mvccpb::Event::EventType>{mvccpb::Event::PUT,
                                                              mvccpb::Event::PUT}));
}

// An event goes to every watcher as one shared event, never copied; prev_kv stays in it and
// the output's prev_kv flag tells the consumer whether to send it.
TEST(WatchHubTest, EventsAreSharedUncopiedAndPrevKvIsLeftToTheConsumer) {
  Harness h;
  auto s = h.hub.NewStream(nullptr);
  WatchSpec with_prev = Key("k");
  with_prev.prev_kv = true;
  const int64_t without = s->Watch(Key("k"))->watch_id;
  const int64_t with = s->Watch(with_prev)->watch_id;
  const int64_t alone = s->Watch(Key("only"))->watch_id;  // no watcher of "only" wants prev_kv
  h.Put("k", "1");
  h.Put("k", "2");
  h.Put("only", "1");
  h.Put("only", "2");
  std::map<int64_t, std::vector<const mvccpb::Event*>> events;
  const std::vector<WatchOutput> outs = Drain(*s);
  for (const auto& o : outs) {
    EXPECT_EQ(o.prev_kv, o.watch_id == with);
    for (const auto& ev : o.events) events[o.watch_id].push_back(ev.get());
  }
  ASSERT_EQ(events[with].size(), 2u);
  ASSERT_EQ(events[without].size(), 2u);
  EXPECT_EQ(events[with][0], events[without][0]);  // the same object
  EXPECT_EQ(events[with][1], events[without][1]);
  EXPECT_FALSE(events[with][0]->has_prev_kv());
  ASSERT_TRUE(events[with][1]->has_prev_kv());
  EXPECT_EQ(events[with][1]->prev_kv().value(), "1");
  ASSERT_EQ(events[alone].size(), 2u);
  EXPECT_EQ(events[alone][1]->kv().value(), "2");
  EXPECT_EQ(events[alone][1]->kv().mod_revision(), h.source.CurrentRevision());
}

TEST(WatchHubTest, FutureStartRevisionSkipsEarlierEvents) {
  Harness h;
  auto s = h.hub.NewStream(nullptr);
  s->Watch(Key("k", 3)).value();
  for (int i = 0; i < 4; ++i) h.Put("k", std::to_string(i));
  auto events = EventList(Drain(*s));
  EXPECT_EQ(events, (std::vector<std::pair<int64_t, std::string>>{{3, "k"}, {4, "k"}}));
}

TEST(WatchHubTest, HistoricalWatcherCatchesUpThenFollowsLiveCommits) {
  Harness h({}, /*page_events=*/3);
  for (int i = 0; i < 20; ++i) h.Put("k" + std::to_string(i % 4), "v");
  auto s = h.hub.NewStream(nullptr);
  s->Watch(Range("k", "l", 5)).value();
  // Commit concurrently with the catch-up: no event may be lost or duplicated.
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) h.Put("k" + std::to_string(i % 4), "w");
  });
  auto outs = DrainEvents(*s, 216);  // 16 historical (5..20) + 200 live
  writer.join();
  auto events = EventList(outs);
  ASSERT_EQ(events.size(), 216u);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].first, int64_t(i) + 5);
  EXPECT_TRUE(Eventually([&] { return h.hub.UnsyncedCountForTest() == 0; }));
}

TEST(WatchHubTest, CompactedStartCancelsWithCompactRevision) {
  Harness h;
  for (int i = 0; i < 5; ++i) h.Put("k", "v");
  h.source.Compact(3);
  auto s = h.hub.NewStream(nullptr);
  const int64_t old_id = s->Watch(Key("k", 2))->watch_id;
  const int64_t at_compaction = s->Watch(Key("k", 3))->watch_id;
  std::vector<WatchOutput> outs;
  ASSERT_TRUE(Eventually([&] {
    while (auto o = s->Next()) outs.push_back(std::move(*o));
    return outs.size() >= 2;
  }));
  for (const auto& o : outs) {
    if (o.watch_id == old_id) {
      EXPECT_EQ(o.kind, Kind::kCompacted);
      EXPECT_EQ(o.compact_revision, 3);
    } else {
      EXPECT_EQ(o.watch_id, at_compaction);
      EXPECT_EQ(o.kind, Kind::kEvents);
      EXPECT_EQ(o.events.front()->kv().mod_revision(), 3);
    }
  }
  EXPECT_FALSE(s->Cancel(old_id));  // the compacted watcher is gone
}

// A follower installing the leader's snapshot jumps from revision 3 to 10 without OnCommit:
// synced watchers get revisions 4..10 from the new store, in order, then follow live commits.
TEST(WatchHubTest, RestoreCatchesSyncedWatchersUpFromTheNewStore) {
  Harness h;
  for (int i = 0; i < 3; ++i) h.Put("k", "old" + std::to_string(i));
  auto s = h.hub.NewStream(nullptr);
  s->Watch(Key("k")).value();
  s->Watch(Key("other")).value();
  EXPECT_EQ(EventList(Drain(*s)).size(), 0u);
  for (int i = 0; i < 7; ++i) h.source.Put(i % 2 == 0 ? "k" : "other", "snap");  // 4..10, unseen
  h.hub.OnRestore(h.source.CurrentRevision());
  EXPECT_EQ(h.hub.Revision(), 10);
  std::map<std::string, std::vector<int64_t>> by_key;
  for (const auto& [rev, key] : EventList(DrainEvents(*s, 7))) by_key[key].push_back(rev);
  EXPECT_EQ(by_key["k"], (std::vector<int64_t>{4, 6, 8, 10}));
  EXPECT_EQ(by_key["other"], (std::vector<int64_t>{5, 7, 9}));
  EXPECT_TRUE(Eventually([&] { return h.hub.UnsyncedCountForTest() == 0; }));
  h.Put("k", "live");
  EXPECT_EQ(EventList(Drain(*s)).back().first, 11);
}

// The new store compacted revisions the watcher had not seen: it ends with a compaction notice.
TEST(WatchHubTest, RestorePastACompactionEndsTheWatcher) {
  Harness h;
  h.Put("k", "old");
  auto s = h.hub.NewStream(nullptr);
  const int64_t id = s->Watch(Key("k")).value().watch_id;
  for (int i = 0; i < 5; ++i) h.source.Put("k", "snap");  // 2..6
  h.source.Compact(4);
  h.hub.OnRestore(h.source.CurrentRevision());
  std::vector<WatchOutput> outs;
  ASSERT_TRUE(Eventually([&] {
    while (auto o = s->Next()) outs.push_back(std::move(*o));
    return !outs.empty();
  }));
  EXPECT_EQ(outs.front().watch_id, id);
  EXPECT_EQ(outs.front().kind, Kind::kCompacted);
  EXPECT_EQ(outs.front().compact_revision, 4);
}

TEST(WatchHubTest, SlowConsumerFallsBackToCatchUpWithoutLossOrDuplicates) {
  HubOptions options;
  options.max_pending_events = 4;
  Harness h(options, /*page_events=*/5);
  auto slow = h.hub.NewStream(nullptr);
  auto fast = h.hub.NewStream(nullptr);
  slow->Watch(Key("k")).value();
  fast->Watch(Key("k")).value();
  for (int i = 0; i < 100; ++i) {
    h.Put("k", std::to_string(i));
    ASSERT_FALSE(Drain(*fast).empty());
  }
  EXPECT_EQ(h.hub.UnsyncedCountForTest(), 1u);  // the buffer limit (4) made it unsynced
  auto events = EventList(DrainEvents(*slow, 100));
  ASSERT_EQ(events.size(), 100u);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].first, int64_t(i) + 1);
  EXPECT_TRUE(Eventually([&] { return h.hub.UnsyncedCountForTest() == 0; }));
  h.Put("k", "live");
  EXPECT_EQ(EventList(Drain(*slow)).back().first, 101);
}

TEST(WatchHubTest, RevisionLargerThanBufferIsNeverSplit) {
  HubOptions options;
  options.max_pending_events = 4;
  Harness h(options);
  auto s = h.hub.NewStream(nullptr);
  s->Watch(Range("a", std::string(1, '\0'))).value();
  std::vector<std::pair<std::string, std::string>> puts;
  for (int i = 0; i < 10; ++i) puts.emplace_back("k" + std::to_string(i), "v");
  h.Commit(h.source.Txn(puts, {}));  // 10 events > 4
  h.Put("a", "v");  // does not fit behind it: catch-up later
  auto outs = DrainEvents(*s, 11);
  ASSERT_GE(outs.size(), 2u);
  EXPECT_EQ(outs[0].events.size(), 10u);
  EXPECT_EQ(outs[0].revision, 1);
  EXPECT_EQ(EventList(outs).back().first, 2);
}

TEST(WatchHubTest, OutputsPackWholeRevisionsUpToMaxBytes) {
  HubOptions options;
  options.max_response_bytes = 100;
  Harness h(options);
  auto s = h.hub.NewStream(nullptr);
  s->Watch(Range("a", "z")).value();
  for (int i = 0; i < 6; ++i) {
    h.Commit(h.source.Txn({{"a", std::string(20, 'x')}, {"b", std::string(20, 'y')}}, {}));
  }
  auto outs = Drain(*s);
  ASSERT_GT(outs.size(), 1u);
  size_t total = 0;
  for (const auto& o : outs) {
    EXPECT_EQ(o.events.size() % 2, 0u);  // revisions are never split
    size_t bytes = 0;
    for (const auto& ev : o.events) bytes += EncodedEventBytes(*ev, o.prev_kv);  // as sent
    if (o.events.size() > 2) {
      EXPECT_LE(bytes, options.max_response_bytes);
    }
    EXPECT_EQ(o.revision, o.events.back()->kv().mod_revision());
    total += o.events.size();
  }
  EXPECT_EQ(total, 12u);
}

TEST(WatchHubTest, CancelDropsUndeliveredEvents) {
  Harness h;
  auto s = h.hub.NewStream(nullptr);
  const int64_t id = s->Watch(Key("k"))->watch_id;
  h.Put("k", "1");
  EXPECT_TRUE(s->Cancel(id));
  h.Put("k", "2");
  EXPECT_TRUE(Drain(*s).empty());
}

TEST(WatchHubTest, ReadyCallbackFiresOnlyWhenArmedAndNeverAfterClose) {
  Harness h;
  std::atomic<int> calls{0};
  auto s = h.hub.NewStream([&] { ++calls; });
  s->Watch(Key("k")).value();
  h.Put("k", "1");
  EXPECT_EQ(calls.load(), 0);  // not armed: Next() was never empty
  EXPECT_EQ(Drain(*s).size(), 1u);
  h.Put("k", "2");
  h.Put("k", "3");
  ASSERT_TRUE(Eventually([&] { return calls.load() == 1; }));
  Drain(*s);
  s->Close();
  h.Put("k", "4");
  h.hub.Stop();  // joins the notify thread: any callback would have run by now
  EXPECT_EQ(calls.load(), 1);
}

TEST(WatchHubTest, PeriodicProgressOnlyForIdleSyncedWatchersThatAskedForIt) {
  HubOptions options;
  options.progress_notify_interval = std::chrono::milliseconds(20);
  Harness h(options);
  h.Put("x", "1");
  auto s = h.hub.NewStream(nullptr);
  WatchSpec spec = Key("k");
  spec.progress_notify = true;
  const int64_t with = s->Watch(spec)->watch_id;
  s->Watch(Key("k")).value();
  std::vector<WatchOutput> outs;
  ASSERT_TRUE(Eventually([&] {
    while (auto o = s->Next()) outs.push_back(std::move(*o));
    return !outs.empty();
  }));
  EXPECT_EQ(outs[0].kind, Kind::kProgress);
  EXPECT_EQ(outs[0].watch_id, with);
  EXPECT_EQ(outs[0].revision, 1);
  EXPECT_TRUE(outs[0].events.empty());
  for (const auto& o : outs) EXPECT_EQ(o.watch_id, with);
}

TEST(WatchHubTest, ProgressRequestWaitsForSyncAndFollowsEarlierEvents) {
  Harness h;
  for (int i = 0; i < 3; ++i) h.Put("k", "v");
  h.source.FailReads(true);
  auto s = h.hub.NewStream(nullptr);
  s->Watch(Key("k", 1)).value();  // unsynced: reads fail
  s->Watch(Key("k")).value();
  h.Put("k", "v");
  s->RequestProgress();
  s->RequestProgress();  // answered once
  std::vector<WatchOutput> outs;
  while (auto o = s->Next()) outs.push_back(std::move(*o));
  for (const auto& o : outs) EXPECT_NE(o.kind, Kind::kProgressAll);
  h.source.FailReads(false);
  ASSERT_TRUE(Eventually([&] {
    while (auto o = s->Next()) outs.push_back(std::move(*o));
    return !outs.empty() && outs.back().kind == Kind::kProgressAll;
  }));
  EXPECT_EQ(outs.back().watch_id, kInvalidWatchId);
  EXPECT_EQ(outs.back().revision, 4);
  EXPECT_EQ(EventList(outs).size(), 5u);  // 4 historical + 1 live, all before the answer
  EXPECT_TRUE(Drain(*s).empty());
}

TEST(WatchHubTest, ProgressRequestWithAllSyncedAnswersAtOnce) {
  Harness h;
  h.Put("k", "v");
  auto s = h.hub.NewStream(nullptr);
  s->RequestProgress();
  auto outs = Drain(*s);
  ASSERT_EQ(outs.size(), 1u);
  EXPECT_EQ(outs[0].kind, Kind::kProgressAll);
  EXPECT_EQ(outs[0].revision, 1);
}

TEST(WatchHubTest, CatchupServesEveryWatcherWithOnePerRound) {
  HubOptions options;
  options.max_catchup_watchers_per_round = 1;
  Harness h(options, /*page_events=*/2);
  for (int i = 0; i < 10; ++i) h.Put("k", "v");
  auto s = h.hub.NewStream(nullptr);
  for (int i = 0; i < 3; ++i) s->Watch(Key("k", 1)).value();
  auto outs = DrainEvents(*s, 30);
  std::map<int64_t, std::vector<int64_t>> revs;
  for (const auto& o : outs) {
    for (const auto& ev : o.events) revs[o.watch_id].push_back(ev->kv().mod_revision());
  }
  ASSERT_EQ(revs.size(), 3u);
  for (const auto& [id, r] : revs) {
    ASSERT_EQ(r.size(), 10u) << id;
    for (size_t i = 0; i < r.size(); ++i) EXPECT_EQ(r[i], int64_t(i) + 1);
  }
}

TEST(WatchHubTest, FailedReadsAreRetried) {
  HubOptions options;
  options.catchup_retry_interval = std::chrono::milliseconds(5);
  Harness h(options);
  h.Put("k", "v");
  h.source.FailReads(true);
  auto s = h.hub.NewStream(nullptr);
  s->Watch(Key("k", 1)).value();
  ASSERT_TRUE(Eventually([&] { return h.source.reads() >= 2; }));
  h.source.FailReads(false);
  EXPECT_EQ(EventList(DrainEvents(*s, 1)).size(), 1u);
}

TEST(WatchHubTest, StopIsIdempotentAndStreamsOutliveIt) {
  Harness h;
  auto s = h.hub.NewStream(nullptr);
  s->Watch(Key("k")).value();
  h.hub.Stop();
  h.hub.Stop();
  h.Put("k", "v");
  EXPECT_EQ(Drain(*s).size(), 1u);
}

}  // namespace
}  // namespace grid::kv::watch
