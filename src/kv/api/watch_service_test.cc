#include "kv/api/watch_service.h"

#include <chrono>
#include <memory>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "kv/watch/fake_event_source.h"

namespace grid::kv::api {
namespace {

using etcdserverpb::WatchRequest;
using etcdserverpb::WatchResponse;

constexpr auto kDeadline = std::chrono::seconds(20);

class WatchServiceTest : public ::testing::Test {
 protected:
  void Start(watch::HubOptions hub_options = {}, WatchServiceOptions options = {}) {
    hub_ = std::make_unique<watch::WatchHub>(&source_, hub_options);
    identity_.cluster_id = 11;
    identity_.member_id = 22;
    identity_.raft_term = 3;
    service_ = std::make_unique<WatchService>(hub_.get(), &identity_, options);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port, 0);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                   grpc::InsecureChannelCredentials());
    stub_ = etcdserverpb::Watch::NewStub(channel_);
  }

  void TearDown() override {
    if (server_ == nullptr) return;
    service_->Stop();
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server_.reset();
    service_.reset();
    hub_.reset();
  }

  void Put(const std::string& k, const std::string& v) { Commit(source_.Put(k, v)); }
  void Commit(std::vector<mvccpb::Event> events) {
    hub_->OnCommit(std::move(events), source_.CurrentRevision());
  }

  struct Client {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReaderWriter<WatchRequest, WatchResponse>> stream;

    void Write(const WatchRequest& r) { ASSERT_TRUE(stream->Write(r)); }
    WatchResponse Read() {
      WatchResponse r;
      EXPECT_TRUE(stream->Read(&r));
      return r;
    }
  };

  std::unique_ptr<Client> Open() {
    auto c = std::make_unique<Client>();
    c->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    c->stream = stub_->Watch(&c->context);
    return c;
  }

  static WatchRequest Create(const std::string& key, int64_t start = 0, int64_t id = 0) {
    WatchRequest r;
    r.mutable_create_request()->set_key(key);
    r.mutable_create_request()->set_start_revision(start);
    r.mutable_create_request()->set_watch_id(id);
    return r;
  }
  static WatchRequest Cancel(int64_t id) {
    WatchRequest r;
    r.mutable_cancel_request()->set_watch_id(id);
    return r;
  }
  static WatchRequest Progress() {
    WatchRequest r;
    r.mutable_progress_request();
    return r;
  }

  watch::testing::FakeEventSource source_;
  std::unique_ptr<watch::WatchHub> hub_;
  MemberIdentity identity_;
  std::unique_ptr<WatchService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::Watch::Stub> stub_;
};

TEST_F(WatchServiceTest, CreatedFirstThenEventsWithHeader) {
  Start();
  Put("other", "v");
  auto c = Open();
  c->Write(Create("k"));
  WatchResponse created = c->Read();
  EXPECT_TRUE(created.created());
  EXPECT_FALSE(created.canceled());
  EXPECT_EQ(created.watch_id(), 0);
  EXPECT_EQ(created.header().cluster_id(), 11u);
  EXPECT_EQ(created.header().member_id(), 22u);
  EXPECT_EQ(created.header().raft_term(), 3u);
  EXPECT_EQ(created.header().revision(), 1);
  Put("k", "v1");
  WatchResponse ev = c->Read();
  ASSERT_EQ(ev.events_size(), 1);
  EXPECT_EQ(ev.watch_id(), 0);
  EXPECT_EQ(ev.events(0).kv().value(), "v1");
  EXPECT_FALSE(ev.events(0).has_prev_kv());
  EXPECT_EQ(ev.header().revision(), 2);
}

TEST_F(WatchServiceTest, ClientIdHonouredAndDuplicateRejected) {
  Start();
  auto c = Open();
  c->Write(Create("k", 0, 7));
  EXPECT_EQ(c->Read().watch_id(), 7);
  c->Write(Create("k", 0, 7));
  WatchResponse dup = c->Read();
  EXPECT_TRUE(dup.created());
  EXPECT_TRUE(dup.canceled());
  EXPECT_EQ(dup.watch_id(), -1);
  EXPECT_EQ(dup.cancel_reason(), "mvcc: duplicate watch ID provided on the WatchStream");
  WatchRequest empty = Create("b");
  empty.mutable_create_request()->set_range_end("a");
  c->Write(empty);
  EXPECT_EQ(c->Read().cancel_reason(), "mvcc: watcher range is empty");
}

TEST_F(WatchServiceTest, CancelAnswersAndStopsEvents) {
  Start();
  auto c = Open();
  c->Write(Create("k"));
  const int64_t id = c->Read().watch_id();
  c->Write(Cancel(id));
  WatchResponse canceled = c->Read();
  EXPECT_TRUE(canceled.canceled());
  EXPECT_EQ(canceled.watch_id(), id);
  c->Write(Cancel(99));  // unknown: no answer (etcd 3.4)
  Put("k", "v");
  c->Write(Progress());
  WatchResponse next = c->Read();  // the progress answer, not an event
  EXPECT_EQ(next.watch_id(), -1);
  EXPECT_EQ(next.events_size(), 0);
  EXPECT_EQ(next.header().revision(), 1);
}

TEST_F(WatchServiceTest, ManyWatchersOnOneStream) {
  Start();
  auto c = Open();
  constexpr int kWatchers = 50;
  for (int i = 0; i < kWatchers; ++i) {
    WatchRequest r = Create("key" + std::to_string(i));
    r.mutable_create_request()->set_prev_kv(true);
    c->Write(r);
    EXPECT_EQ(c->Read().watch_id(), i);
  }
  for (int i = 0; i < kWatchers; ++i) Put("key" + std::to_string(i), "a");
  for (int i = 0; i < kWatchers; ++i) Put("key" + std::to_string(i), "b");
  std::map<int64_t, std::vector<std::string>> seen;
  for (int i = 0; i < 2 * kWatchers;) {
    WatchResponse r = c->Read();
    for (const auto& ev : r.events()) {
      EXPECT_EQ(ev.kv().key(), "key" + std::to_string(r.watch_id()));
      EXPECT_EQ(ev.has_prev_kv(), ev.kv().value() == "b");
      seen[r.watch_id()].push_back(ev.kv().value());
      ++i;
    }
  }
  for (int i = 0; i < kWatchers; ++i) {
    EXPECT_EQ(seen[i], (std::vector<std::string>{"a", "b"}));
  }
}

TEST_F(WatchServiceTest, FragmentsOnlyWhenAskedAndTooBig) {
  watch::HubOptions options;
  options.max_response_bytes = 1000;
  Start(options);
  auto c = Open();
  WatchRequest frag = Create("a");
  frag.mutable_create_request()->set_range_end("z");
  frag.mutable_create_request()->set_fragment(true);
  c->Write(frag);
  const int64_t frag_id = c->Read().watch_id();
  WatchRequest whole = frag;
  whole.mutable_create_request()->set_fragment(false);
  c->Write(whole);
  const int64_t whole_id = c->Read().watch_id();
  std::vector<std::pair<std::string, std::string>> puts;
  for (int i = 0; i < 10; ++i) puts.emplace_back("k" + std::to_string(i), std::string(300, 'x'));
  Commit(source_.Txn(puts, {}));  // one revision of ~3 KB
  int fragments = 0;
  int frag_events = 0;
  int whole_events = 0;
  while (frag_events < 10 || whole_events < 10) {
    WatchResponse r = c->Read();
    if (r.watch_id() == whole_id) {
      EXPECT_EQ(r.events_size(), 10);
      EXPECT_FALSE(r.fragment());
      whole_events += r.events_size();
      continue;
    }
    ASSERT_EQ(r.watch_id(), frag_id);
    ++fragments;
    frag_events += r.events_size();
    EXPECT_EQ(r.fragment(), frag_events < 10);
    EXPECT_LT(r.ByteSizeLong(), 1000u);
  }
  EXPECT_EQ(frag_events, 10);
  EXPECT_GE(fragments, 4);
}

TEST_F(WatchServiceTest, CompactedStartIsCanceledWithCompactRevision) {
  Start();
  for (int i = 0; i < 5; ++i) Put("k", "v");
  source_.Compact(3);
  auto c = Open();
  c->Write(Create("k", 1));
  WatchResponse created = c->Read();
  EXPECT_TRUE(created.created());
  WatchResponse compacted = c->Read();
  EXPECT_EQ(compacted.watch_id(), created.watch_id());
  EXPECT_TRUE(compacted.canceled());
  EXPECT_EQ(compacted.compact_revision(), 3);
  EXPECT_EQ(compacted.events_size(), 0);
}

TEST_F(WatchServiceTest, HistoricalStartReplaysThenFollows) {
  Start();
  for (int i = 0; i < 5; ++i) Put("k", std::to_string(i));
  auto c = Open();
  c->Write(Create("k", 2));
  EXPECT_TRUE(c->Read().created());
  std::vector<int64_t> revs;
  while (revs.size() < 4) {
    WatchResponse r = c->Read();
    for (const auto& ev : r.events()) revs.push_back(ev.kv().mod_revision());
  }
  Put("k", "live");
  WatchResponse live = c->Read();
  for (const auto& ev : live.events()) revs.push_back(ev.kv().mod_revision());
  EXPECT_EQ(revs, (std::vector<int64_t>{2, 3, 4, 5, 6}));
}

TEST_F(WatchServiceTest, PeriodicProgressNotify) {
  watch::HubOptions options;
  options.progress_notify_interval = std::chrono::milliseconds(20);
  Start(options);
  Put("x", "v");
  auto c = Open();
  WatchRequest r = Create("k");
  r.mutable_create_request()->set_progress_notify(true);
  c->Write(r);
  const int64_t id = c->Read().watch_id();
  WatchResponse progress = c->Read();
  EXPECT_EQ(progress.watch_id(), id);
  EXPECT_EQ(progress.events_size(), 0);
  EXPECT_FALSE(progress.canceled());
  EXPECT_EQ(progress.header().revision(), 1);
}

TEST_F(WatchServiceTest, SlowReaderGetsEveryEventOnce) {
  watch::HubOptions options;
  options.max_pending_events = 64;
  Start(options, {});
  auto c = Open();
  c->Write(Create("k"));
  EXPECT_TRUE(c->Read().created());
  constexpr int kEvents = 10000;
  for (int i = 0; i < kEvents; ++i) Put("k", std::to_string(i));  // nobody reads meanwhile
  int64_t expect = 1;
  while (expect <= kEvents) {
    WatchResponse r = c->Read();
    ASSERT_GT(r.events_size(), 0);
    for (const auto& ev : r.events()) {
      ASSERT_EQ(ev.kv().mod_revision(), expect);
      ++expect;
    }
  }
  Put("k", "after");
  EXPECT_EQ(c->Read().events(0).kv().mod_revision(), kEvents + 1);
}

TEST_F(WatchServiceTest, ClientGoneCleansUpStream) {
  Start();
  auto c = Open();
  c->Write(Create("k"));
  EXPECT_TRUE(c->Read().created());
  EXPECT_EQ(service_->OpenStreamsForTest(), 1u);
  c->context.TryCancel();
  c.reset();
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (service_->OpenStreamsForTest() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(service_->OpenStreamsForTest(), 0u);
  Put("k", "v");  // no stream left to notify
}

TEST_F(WatchServiceTest, StopFinishesStreamsWithServerStopped) {
  Start();
  auto c = Open();
  c->Write(Create("k"));
  EXPECT_TRUE(c->Read().created());
  service_->Stop();
  WatchResponse r;
  EXPECT_FALSE(c->stream->Read(&r));
  grpc::Status status = c->stream->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(status.error_message(), "etcdserver: server stopped");
  auto late = Open();
  EXPECT_FALSE(late->stream->Read(&r));
  EXPECT_EQ(late->stream->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(WatchServiceTest, QueuedResponsesBoundPausesReading) {
  WatchServiceOptions options;
  options.max_queued_responses = 1;
  Start({}, options);
  auto c = Open();
  constexpr int kCreates = 20;  // far more than the queue bound
  for (int i = 0; i < kCreates; ++i) c->Write(Create("k"));
  for (int i = 0; i < kCreates; ++i) EXPECT_EQ(c->Read().watch_id(), i);
}

}  // namespace
}  // namespace grid::kv::api
