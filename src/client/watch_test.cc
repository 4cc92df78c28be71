#include <atomic>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

#include "client/client.h"
#include "client/testing/etcd_fixture.h"
#include "client/watch_queue.h"

namespace grid::client {
namespace {

using testing::EtcdFixture;
using testing::WaitFor;

// Collects what a watcher delivers.
struct Recorder {
  std::mutex mu;
  std::vector<mvccpb::Event> events;
  std::vector<WatchUpdate> endings;

  WatchCallback callback() {
    return [this](const WatchUpdate& u) {
      std::lock_guard<std::mutex> lock(mu);
      for (const auto& e : u.events) events.push_back(e);
      if (!u.status.ok()) endings.push_back(u);
    };
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu);
    return events.size();
  }
  std::vector<std::string> values() {
    std::lock_guard<std::mutex> lock(mu);
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.kv().value());
    return out;
  }
};

class WatchTest : public EtcdFixture {};

TEST_F(WatchTest, PrefixEventsWithPrevKv) {
  Recorder rec;
  WatchOptions options;
  options.prefix = true;
  options.prev_kv = true;
  auto w = client_->Watch("w/", options, rec.callback());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(client_->Put("w/a", "1").ok());
  ASSERT_TRUE(client_->Put("other", "x").ok());
  ASSERT_TRUE(client_->Put("w/a", "2").ok());
  ASSERT_TRUE(client_->Delete("w/a").ok());
  ASSERT_TRUE(WaitFor([&] { return rec.size() >= 3; }));
  std::lock_guard<std::mutex> lock(rec.mu);
  ASSERT_EQ(rec.events.size(), 3u);
  EXPECT_EQ(rec.events[0].type(), mvccpb::Event::PUT);
  EXPECT_EQ(rec.events[1].prev_kv().value(), "1");
  EXPECT_EQ(rec.events[2].type(), mvccpb::Event::DELETE);
  EXPECT_EQ(rec.events[2].prev_kv().value(), "2");
}

TEST_F(WatchTest, StartRevisionReplaysHistory) {
  auto first = client_->Put("h", "1");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(client_->Put("h", "2").ok());
  Recorder rec;
  WatchOptions options;
  options.start_revision = first->header().revision();
  auto w = client_->Watch("h", options, rec.callback());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(WaitFor([&] { return rec.size() >= 2; }));
  EXPECT_EQ(rec.values(), (std::vector<std::string>{"1", "2"}));
}

TEST_F(WatchTest, CancelStopsDelivery) {
  Recorder rec;
  auto w = client_->Watch("c", {}, rec.callback());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(client_->Put("c", "1").ok());
  ASSERT_TRUE(WaitFor([&] { return rec.size() >= 1; }));
  (*w)->Cancel();
  EXPECT_TRUE((*w)->ended());
  ASSERT_TRUE(client_->Put("c", "2").ok());
  EXPECT_EQ(rec.size(), 1u);  // Cancel() returned: no callback runs after it
}

TEST_F(WatchTest, CancelFromInsideCallback) {
  std::atomic<int> calls{0};
  std::unique_ptr<Watcher> watcher;
  std::mutex mu;
  auto w = client_->Watch("s", {}, [&](const WatchUpdate&) {
    ++calls;
    std::lock_guard<std::mutex> lock(mu);
    if (watcher) watcher->Cancel();
  });
  ASSERT_TRUE(w.ok());
  {
    std::lock_guard<std::mutex> lock(mu);
    watcher = std::move(w).value();
  }
  ASSERT_TRUE(client_->Put("s", "1").ok());
  ASSERT_TRUE(WaitFor([&] { return watcher->ended(); }));
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(WatchTest, CompactedStartRevisionIsSurfaced) {
  ASSERT_TRUE(client_->Put("k", "1").ok());
  auto put = client_->Put("k", "2");
  ASSERT_TRUE(put.ok());
  ASSERT_TRUE(client_->Compact(put->header().revision()).ok());
  Recorder rec;
  WatchOptions options;
  options.start_revision = 1;
  auto w = client_->Watch("k", options, rec.callback());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(WaitFor([&] { return (*w)->ended(); }));
  std::lock_guard<std::mutex> lock(rec.mu);
  ASSERT_EQ(rec.endings.size(), 1u);
  EXPECT_EQ(rec.endings[0].compact_revision, put->header().revision());
  EXPECT_EQ(rec.endings[0].status.code(), Code::kOutOfRange);
  EXPECT_EQ(rec.endings[0].status.message(),
            "etcdserver: mvcc: required revision has been compacted");
}

TEST_F(WatchTest, ResumesAfterServerRestartWithoutLossOrDuplicates) {
  Recorder rec;
  WatchOptions options;
  options.prefix = true;
  auto w = client_->Watch("r/", options, rec.callback());
  ASSERT_TRUE(w.ok());
  std::vector<std::string> expected;
  for (int i = 0; i < 5; ++i) {
    expected.push_back("before" + std::to_string(i));
    ASSERT_TRUE(client_->Put("r/k", expected.back()).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return rec.size() >= 5; }));

  ASSERT_TRUE(etcd_->Restart().ok());
  // Written right after the restart, most likely before the watcher has reconnected.
  auto writer = Connect();
  ASSERT_NE(writer, nullptr);
  for (int i = 0; i < 5; ++i) {
    expected.push_back("after" + std::to_string(i));
    ASSERT_TRUE(writer->Put("r/k", expected.back()).ok());
  }
  ASSERT_TRUE(WaitFor([&] { return rec.size() >= expected.size(); }));
  // One more event proves nothing further (no duplicate) was queued before it.
  expected.push_back("last");
  ASSERT_TRUE(writer->Put("r/k", "last").ok());
  ASSERT_TRUE(WaitFor([&] { return rec.size() >= expected.size(); }));
  EXPECT_EQ(rec.values(), expected);
  EXPECT_FALSE((*w)->ended());
}

TEST_F(WatchTest, QueueAtItsLimitKeepsEveryEventInOrder) {
  WatchOptions options;
  options.prefix = true;
  constexpr size_t kLimit = 2;
  auto queue = WatchQueue::Start(client_.get(), "q/", options, kLimit);
  ASSERT_TRUE(queue.ok()) << queue.status().ToString();
  constexpr int kEvents = 10;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_TRUE(client_->Put("q/k", std::to_string(i)).ok());
  }
  std::vector<std::string> got;
  const Context ctx = Context().WithTimeout(std::chrono::seconds(20));
  while (got.size() < kEvents) {
    auto u = (*queue)->Next(ctx);
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    for (const auto& e : u->events) got.push_back(e.kv().value());
  }
  for (int i = 0; i < kEvents; ++i) EXPECT_EQ(got[i], std::to_string(i));
}

TEST_F(WatchTest, WatchFailsWhenServerIsDown) {
  ClientOptions options;
  options.call_timeout = std::chrono::milliseconds(300);
  auto c = Connect(options);
  ASSERT_NE(c, nullptr);
  etcd_->Kill();
  auto w = c->Watch("k", {}, [](const WatchUpdate&) {});
  EXPECT_EQ(w.status().code(), Code::kUnavailable);
}

}  // namespace
}  // namespace grid::client
