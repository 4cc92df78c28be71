// Transports on loopback: ordering, identity checks, limits, reconnects and snapshot streams.
#include "transport/transport.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <grpcpp/create_channel.h>

#include "transport/codec.h"
#include "transport/metadata.h"
#include "transport/snapshot_file.h"
#include "transport/transport_test_util.h"
#include "transport/url.h"

namespace grid::transport {
namespace {

using raft::MemberId;
using testutil::App;
using testutil::Eventually;
using testutil::Member;
using testutil::Snap;

constexpr uint64_t kCluster = 0xc1;

std::unique_ptr<peerpb::Peer::Stub> RawStub(const std::string& url) {
  auto u = ParsePeerUrl(url);
  GRID_CHECK(u.ok());
  return peerpb::Peer::NewStub(
      grpc::CreateChannel(u->target(), grpc::InsecureChannelCredentials()));
}

// Opens a Stream call with the given identity and writes `batch`; returns the call's status.
grpc::Status RawStream(const std::string& url, CallHeader h, const peerpb::MessageBatch& batch) {
  auto stub = RawStub(url);
  grpc::ClientContext ctx;
  AddCallHeader(h, &ctx);
  auto rw = stub->Stream(&ctx);
  peerpb::StreamAccepted accepted;
  if (rw->Read(&accepted)) {
    rw->Write(batch);
    rw->WritesDone();
  }
  return rw->Finish();
}

enum class Ending { kTrailer, kHalfClose, kCancel };

grpc::Status RawSnapshot(const std::string& url, CallHeader h, const raft::Message& m,
                         uint64_t announced, const std::string& data, const std::string& sha,
                         Ending ending) {
  auto stub = RawStub(url);
  grpc::ClientContext ctx;
  AddCallHeader(h, &ctx);
  peerpb::SnapshotReceived received;
  auto w = stub->SendSnapshot(&ctx, &received);
  peerpb::SnapshotChunk chunk;
  EncodeMessage(m, chunk.mutable_header()->mutable_message());
  chunk.mutable_header()->set_size_bytes(announced);
  w->Write(chunk);
  chunk.Clear();
  chunk.set_data(data);
  w->Write(chunk);
  if (ending == Ending::kCancel) {
    ctx.TryCancel();
    return w->Finish();
  }
  if (ending == Ending::kTrailer) {
    chunk.Clear();
    chunk.mutable_trailer()->set_sha256(sha);
    w->Write(chunk);
  }
  w->WritesDone();
  return w->Finish();
}

std::string Sha(const std::string& data) {
  Sha256 h;
  h.Update(data.data(), data.size());
  return h.Finish();
}

bool DirEmpty(const std::string& dir) {
  std::error_code ec;
  return !std::filesystem::exists(dir) || std::filesystem::is_empty(dir, ec);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void Connect(Member& a, Member& b) {
  ASSERT_TRUE(a->AddPeer(b.id(), {b.url()}).ok());
  ASSERT_TRUE(b->AddPeer(a.id(), {a.url()}).ok());
}

// The sender's counters once it counted `total` messages sent to `to` (within 10 s). It counts
// a batch once its write returned, which can be after the peer delivered it.
Result<PeerStats> StatsOnceSent(Member& sender, MemberId to, uint64_t total) {
  Result<PeerStats> stats = sender->Stats(to);
  Eventually([&] {
    stats = sender->Stats(to);
    return !stats.ok() || stats->sent_msgs >= total;
  });
  return stats;
}

TEST(TransportTest, ListensOnPortZeroAndReportsTheBoundPort) {
  Member a(kCluster, 1);
  auto u = ParsePeerUrl(a.url());
  ASSERT_TRUE(u.ok());
  EXPECT_NE(u->port, 0);
}

TEST(TransportTest, TwoMembersExchangeBatchesInOrder) {
  Member a(kCluster, 1), b(kCluster, 2);
  Connect(a, b);
  constexpr uint64_t kRounds = 50, kPerRound = 20;
  for (uint64_t r = 0; r < kRounds; ++r) {
    std::vector<raft::Message> to_b, to_a;
    for (uint64_t i = 0; i < kPerRound; ++i) {
      to_b.push_back(App(1, 2, r * kPerRound + i));
      to_a.push_back(App(2, 1, r * kPerRound + i));
    }
    a->Send(to_b);
    b->Send(to_a);
  }
  const size_t total = kRounds * kPerRound;
  ASSERT_TRUE(Eventually([&] { return b.events.message_count() == total; }));
  ASSERT_TRUE(Eventually([&] { return a.events.message_count() == total; }));
  for (Member* m : {&a, &b}) {
    std::lock_guard l(m->events.mu);
    for (uint64_t i = 0; i < total; ++i) {
      uint64_t from = m->id().value() == 1 ? 2 : 1;
      EXPECT_EQ(m->events.messages[i], App(from, m->id().value(), i)) << i;
    }
  }
  Result<PeerStats> stats = StatsOnceSent(a, MemberId(2), total);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->sent_msgs, total);
  EXPECT_EQ(stats->dropped_msgs, 0u);
  EXPECT_EQ(stats->queued_msgs, 0u);
  EXPECT_TRUE(stats->connected);
  EXPECT_EQ(a.events.unreachable_count(MemberId(2)), 0);
}

TEST(TransportTest, BatchesRespectMaxBatchBytes) {
  const uint64_t one = ApproxMessageBytes(App(1, 2, 0, 1000));
  Member a(kCluster, 1, [&](TransportOptions& o, TransportCallbacks&) {
    o.max_batch_bytes = 3 * one;
  });
  Member b(kCluster, 2);
  Connect(a, b);
  std::vector<raft::Message> msgs;
  for (uint64_t i = 0; i < 60; ++i) msgs.push_back(App(1, 2, i, 1000));
  a->Send(msgs);
  ASSERT_TRUE(Eventually([&] { return b.events.message_count() == 60; }));
  std::lock_guard l(b.events.mu);
  for (size_t n : b.events.batch_sizes) EXPECT_LE(n, 3u);
  for (uint64_t i = 0; i < 60; ++i) EXPECT_EQ(b.events.messages[i].index, raft::Index(i));
}

// Send() writes a batch from the calling thread while the peer's stream is idle; once the
// receiver stops reading and the connection is full, batches go to the stream thread (the
// first of them possibly half written). Nothing is lost or reordered either way.
TEST(TransportTest, BatchesTheConnectionCannotTakeGoToTheStreamThreadInOrder) {
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool gate_open = false;
  Member a(kCluster, 1);
  Member b(kCluster, 2, [&](TransportOptions&, TransportCallbacks& cb) {
    cb.on_messages = [&, record = cb.on_messages](std::vector<raft::Message> msgs) {
      std::unique_lock l(gate_mu);
      gate_cv.wait(l, [&] { return gate_open; });
      l.unlock();
      record(std::move(msgs));
    };
  });
  Connect(a, b);
  ASSERT_TRUE(Eventually([&] { return a->ActiveSince(MemberId(2)).has_value(); }));
  // 16 MiB: more than loopback's socket buffers hold (at most 4 MiB to send, 6 MiB to receive
  // by default; about 4.5 MiB taken here), less than the sender's queue limit (64 MiB).
  constexpr uint64_t kCount = 128;
  constexpr size_t kPayloadBytes = 128 * 1024;
  for (uint64_t i = 0; i < kCount; ++i) a->Send({App(1, 2, i, kPayloadBytes)});
  Result<PeerStats> stats = a->Stats(MemberId(2));
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->batches_written_by_flush, 1u);
  EXPECT_GE(stats->batches_handed_off, 1u);
  {
    std::lock_guard l(gate_mu);
    gate_open = true;
  }
  gate_cv.notify_all();
  ASSERT_TRUE(Eventually([&] { return b.events.message_count() == kCount; }));
  {
    std::lock_guard l(b.events.mu);
    for (uint64_t i = 0; i < kCount; ++i) {
      EXPECT_EQ(b.events.messages[i], App(1, 2, i, kPayloadBytes)) << i;
    }
  }
  stats = StatsOnceSent(a, MemberId(2), kCount);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->sent_msgs, kCount);
  EXPECT_EQ(stats->dropped_msgs, 0u);
  EXPECT_EQ(a.events.unreachable_count(MemberId(2)), 0);
}

TEST(TransportTest, ThreeMembersExchangeInOrder) {
  Member m1(kCluster, 1), m2(kCluster, 2), m3(kCluster, 3);
  Member* all[] = {&m1, &m2, &m3};
  for (Member* x : all) {
    for (Member* y : all) {
      if (x != y) {
        ASSERT_TRUE((*x)->AddPeer(y->id(), {y->url()}).ok());
      }
    }
  }
  constexpr uint64_t kCount = 300;
  for (uint64_t i = 0; i < kCount; ++i) {
    for (Member* x : all) {
      std::vector<raft::Message> out;
      for (Member* y : all) {
        if (x != y) out.push_back(App(x->id().value(), y->id().value(), i));
      }
      (*x)->Send(out);
    }
  }
  for (Member* y : all) {
    ASSERT_TRUE(Eventually([&] { return y->events.message_count() == 2 * kCount; }));
    std::lock_guard l(y->events.mu);
    std::map<MemberId, uint64_t> next;
    for (const raft::Message& m : y->events.messages) {
      EXPECT_EQ(m.to, y->id());
      EXPECT_EQ(m.index, raft::Index(next[m.from]++)) << "from " << m.from.value();
    }
  }
}

TEST(TransportTest, ClusterIdMismatchIsRefused) {
  Member a(kCluster, 1), b(0xd2, 2);
  Connect(a, b);
  a->Send({App(1, 2, 0)});
  ASSERT_TRUE(Eventually([&] { return a.events.unreachable_count(MemberId(2)) > 0; }));
  EXPECT_EQ(b.events.message_count(), 0u);

  peerpb::MessageBatch batch;
  EncodeMessage(App(1, 2, 0), batch.add_messages());
  grpc::Status st = RawStream(b.url(), CallHeader{kCluster, MemberId(1), MemberId(2)}, batch);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("cluster ID mismatch"), std::string::npos) << st.error_message();
  EXPECT_EQ(b.events.message_count(), 0u);
  // The refused sender keeps no stream open.
  auto stats = a->Stats(MemberId(2));
  ASSERT_TRUE(stats.ok());
  EXPECT_FALSE(stats->connected);
}

TEST(TransportTest, RefusedSenderBacksOff) {
  Member a(kCluster, 1, [](TransportOptions& o, TransportCallbacks&) {
    o.max_backoff = std::chrono::seconds(60);
  });
  Member b(0xd2, 2);
  Connect(a, b);
  a->Send({App(1, 2, 0)});
  ASSERT_TRUE(Eventually([&] { return a.events.unreachable_count(MemberId(2)) > 0; }));
  for (uint64_t i = 1; i <= 100; ++i) {
    a->Send({App(1, 2, i)});
    std::this_thread::yield();
  }
  // A refusal puts the sender into the longest back-off at once: no second attempt yet.
  auto stats = a->Stats(MemberId(2));
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->connect_failures, 1u);
  EXPECT_EQ(stats->queued_msgs, 100u);
}

TEST(TransportTest, WrongRecipientIsRefused) {
  Member a(kCluster, 1), b(kCluster, 2);
  ASSERT_TRUE(a->AddPeer(MemberId(3), {b.url()}).ok());  // a believes member 3 lives there
  a->Send({App(1, 3, 0)});
  ASSERT_TRUE(Eventually([&] { return a.events.unreachable_count(MemberId(3)) > 0; }));
  EXPECT_EQ(b.events.message_count(), 0u);

  peerpb::MessageBatch batch;
  EncodeMessage(App(1, 3, 0), batch.add_messages());
  grpc::Status st = RawStream(b.url(), CallHeader{kCluster, MemberId(1), MemberId(3)}, batch);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("member 2 is not 3"), std::string::npos) << st.error_message();
}

TEST(TransportTest, MessagesMustMatchTheCallIdentity) {
  Member b(kCluster, 2);
  peerpb::MessageBatch batch;
  EncodeMessage(App(7, 2, 0), batch.add_messages());  // claims another sender
  grpc::Status st = RawStream(b.url(), CallHeader{kCluster, MemberId(1), MemberId(2)}, batch);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  batch.Clear();
  raft::Message local = App(1, 2, 0);
  local.type = raft::MessageType::kHup;
  EncodeMessage(local, batch.add_messages());
  st = RawStream(b.url(), CallHeader{kCluster, MemberId(1), MemberId(2)}, batch);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  EXPECT_EQ(b.events.message_count(), 0u);
}

TEST(TransportTest, RemovedMemberIsRefused) {
  Member a(kCluster, 1), b(kCluster, 2);
  Connect(a, b);
  a->Send({App(1, 2, 0)});
  ASSERT_TRUE(Eventually([&] { return b.events.message_count() == 1; }));

  ASSERT_TRUE(b->RemovePeer(MemberId(1)).ok());
  EXPECT_EQ(b->AddPeer(MemberId(1), {a.url()}).code(), Code::kFailedPrecondition);
  // The open stream is refused at its next batch; a's next connection attempt is refused too.
  uint64_t next = 1;
  ASSERT_TRUE(Eventually([&] {
    a->Send({App(1, 2, next++)});
    return a.events.unreachable_count(MemberId(2)) > 0;
  }));
  EXPECT_EQ(b.events.message_count(), 1u);

  grpc::Status st = RawStream(b.url(), CallHeader{kCluster, MemberId(1), MemberId(2)}, {});
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("member 1 was removed"), std::string::npos);
}

TEST(TransportTest, PeerManagementErrors) {
  Member a(kCluster, 1);
  EXPECT_EQ(a->AddPeer(MemberId(1), {"http://127.0.0.1:1"}).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->AddPeer(MemberId(2), {}).code(), Code::kInvalidArgument);
  EXPECT_EQ(a->AddPeer(MemberId(2), {"https://127.0.0.1:1"}).code(), Code::kInvalidArgument);
  ASSERT_TRUE(a->AddPeer(MemberId(2), {"http://127.0.0.1:1"}).ok());
  EXPECT_EQ(a->AddPeer(MemberId(2), {"http://127.0.0.1:1"}).code(), Code::kAlreadyExists);
  EXPECT_EQ(a->UpdatePeer(MemberId(3), {"http://127.0.0.1:1"}).code(), Code::kNotFound);
  EXPECT_EQ(a->RemovePeer(MemberId(3)).code(), Code::kNotFound);
  a->Send({App(1, 9, 0)});  // unknown peer: dropped without a callback
  EXPECT_EQ(a.events.unreachable_count(MemberId(9)), 0);
}

// A peer that is down: the first message fails to connect and puts the sender into a long
// back-off, during which the queue fills up to its limits.
std::string DeadUrl() {
  Member gone(kCluster, 99);
  std::string url = gone.url();
  gone.Stop();
  return url;
}

TEST(TransportTest, QueueMessageLimitDropsAndReportsUnreachable) {
  constexpr size_t kLimit = 8;
  Member a(kCluster, 1, [](TransportOptions& o, TransportCallbacks&) {
    o.max_queued_msgs_per_peer = kLimit;
    o.initial_backoff = std::chrono::seconds(60);
    o.max_backoff = std::chrono::seconds(60);
  });
  ASSERT_TRUE(a->AddPeer(MemberId(2), {DeadUrl()}).ok());
  a->Send({App(1, 2, 0)});
  ASSERT_TRUE(Eventually([&] { return a.events.unreachable_count(MemberId(2)) == 1; }));

  std::vector<raft::Message> batch;
  for (uint64_t i = 1; i <= kLimit; ++i) batch.push_back(App(1, 2, i));
  a->Send(batch);  // exactly at the limit
  auto stats = a->Stats(MemberId(2));
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->queued_msgs, kLimit);
  EXPECT_EQ(stats->dropped_msgs, 1u);  // the first message, lost with the failed connection
  EXPECT_EQ(a.events.unreachable_count(MemberId(2)), 1);

  a->Send({App(1, 2, 100)});  // one past it
  stats = a->Stats(MemberId(2));
  EXPECT_EQ(stats->queued_msgs, kLimit);
  EXPECT_EQ(stats->dropped_msgs, 2u);
  EXPECT_EQ(a.events.unreachable_count(MemberId(2)), 2);
}

TEST(TransportTest, QueueByteLimitDropsAndReportsUnreachable) {
  const uint64_t one = ApproxMessageBytes(App(1, 2, 0, 1000));
  Member a(kCluster, 1, [&](TransportOptions& o, TransportCallbacks&) {
    o.max_queued_bytes_per_peer = 4 * one;
    o.max_message_bytes = one;
    o.max_batch_bytes = one;
    o.initial_backoff = std::chrono::seconds(60);
    o.max_backoff = std::chrono::seconds(60);
  });
  ASSERT_TRUE(a->AddPeer(MemberId(2), {DeadUrl()}).ok());
  a->Send({App(1, 2, 0, 1000)});
  ASSERT_TRUE(Eventually([&] { return a.events.unreachable_count(MemberId(2)) == 1; }));

  a->Send({App(1, 2, 1, 1000), App(1, 2, 2, 1000), App(1, 2, 3, 1000), App(1, 2, 4, 1000)});
  auto stats = a->Stats(MemberId(2));
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->queued_bytes, 4 * one);
  EXPECT_EQ(a.events.unreachable_count(MemberId(2)), 1);
  a->Send({App(1, 2, 5, 0)});
  EXPECT_EQ(a->Stats(MemberId(2))->queued_msgs, 4u);
  EXPECT_EQ(a.events.unreachable_count(MemberId(2)), 2);

  // A single message over max_message_bytes never enters a queue.
  a->Send({App(1, 2, 6, 1001)});
  EXPECT_EQ(a.events.unreachable_count(MemberId(2)), 3);
}

TEST(TransportTest, ReconnectsAfterThePeerRestarts) {
  Member a(kCluster, 1), b(kCluster, 2);
  Connect(a, b);
  a->Send({App(1, 2, 0)});
  ASSERT_TRUE(Eventually([&] { return b.events.message_count() == 1; }));

  b.Stop();
  // While b is down, messages are lost and reported.
  uint64_t next = 1;
  ASSERT_TRUE(Eventually([&] {
    a->Send({App(1, 2, next++)});
    return a.events.unreachable_count(MemberId(2)) > 0;
  }));
  b.Restart();  // same port
  ASSERT_TRUE(Eventually([&] {
    a->Send({App(1, 2, next++)});
    return b.events.message_count() > 1;
  }));
  ASSERT_TRUE(Eventually([&] { return a->Stats(MemberId(2))->connected; }));
}

TEST(TransportTest, UpdatePeerMovesTheStream) {
  Member a(kCluster, 1), b(kCluster, 2);
  ASSERT_TRUE(a->AddPeer(MemberId(2), {DeadUrl()}).ok());
  ASSERT_TRUE(a->UpdatePeer(MemberId(2), {b.url()}).ok());
  ASSERT_TRUE(Eventually([&] {
    a->Send({App(1, 2, 0)});
    return b.events.message_count() > 0;
  }));
}

TEST(TransportTest, SecondUrlIsTriedWhenTheFirstIsDown) {
  Member a(kCluster, 1), b(kCluster, 2);
  ASSERT_TRUE(a->AddPeer(MemberId(2), {DeadUrl(), b.url()}).ok());
  ASSERT_TRUE(Eventually([&] {
    a->Send({App(1, 2, 0)});
    return b.events.message_count() > 0;
  }));
}

std::string TestData(size_t n) {
  std::string s(n, '\0');
  uint64_t x = 88172645463325252ull;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s[i] = static_cast<char>(x);
  }
  return s;
}

TEST(TransportSnapshotTest, StreamsAndVerifiesASnapshot) {
  const std::string data = TestData((5u << 20) / 2 + 17);  // 2.5 MiB + 17: three chunks
  Member a(kCluster, 1, [&](TransportOptions&, TransportCallbacks& cb) {
    cb.snapshot_source = [&](const raft::Message& m) -> Result<std::unique_ptr<SnapshotReader>> {
      EXPECT_EQ(m.snapshot->meta.index, raft::Index(40));
      return std::unique_ptr<SnapshotReader>(new testutil::StringReader(data));
    };
  });
  Member b(kCluster, 2);
  Connect(a, b);
  a->Send({Snap(1, 2, 40), App(1, 2, 41)});
  ASSERT_TRUE(Eventually([&] { return a.events.snapshot_status_count() == 1; }));
  {
    std::lock_guard l(a.events.mu);
    EXPECT_EQ(a.events.snapshot_status[0], std::make_pair(MemberId(2), true));
  }
  std::lock_guard l(b.events.mu);
  ASSERT_EQ(b.events.snapshots.size(), 1u);
  EXPECT_EQ(b.events.snapshots[0].first, Snap(1, 2, 40));
  EXPECT_EQ(ReadAll(b.events.snapshots[0].second), data);
}

TEST(TransportSnapshotTest, EmptySnapshotDataIsFine) {
  Member a(kCluster, 1, [&](TransportOptions&, TransportCallbacks& cb) {
    cb.snapshot_source = [&](const raft::Message&) -> Result<std::unique_ptr<SnapshotReader>> {
      return std::unique_ptr<SnapshotReader>(new testutil::StringReader(""));
    };
  });
  Member b(kCluster, 2);
  Connect(a, b);
  a->Send({Snap(1, 2, 5)});
  ASSERT_TRUE(Eventually([&] { return a.events.snapshot_status_count() == 1; }));
  std::lock_guard l(a.events.mu);
  EXPECT_TRUE(a.events.snapshot_status[0].second);
}

TEST(TransportSnapshotTest, SnapshotSizeLimit) {
  constexpr uint64_t kLimit = 1000;
  std::string data = TestData(kLimit);
  Member a(kCluster, 1, [&](TransportOptions&, TransportCallbacks& cb) {
    cb.snapshot_source = [&](const raft::Message&) -> Result<std::unique_ptr<SnapshotReader>> {
      return std::unique_ptr<SnapshotReader>(new testutil::StringReader(data));
    };
  });
  Member b(kCluster, 2, [&](TransportOptions& o, TransportCallbacks&) {
    o.max_snapshot_bytes = kLimit;
  });
  Connect(a, b);
  a->Send({Snap(1, 2, 5)});  // at the limit
  ASSERT_TRUE(Eventually([&] { return a.events.snapshot_status_count() == 1; }));
  data.push_back('x');  // one past it
  a->Send({Snap(1, 2, 6)});
  ASSERT_TRUE(Eventually([&] { return a.events.snapshot_status_count() == 2; }));
  std::lock_guard l(a.events.mu);
  EXPECT_TRUE(a.events.snapshot_status[0].second);
  EXPECT_FALSE(a.events.snapshot_status[1].second);
  EXPECT_EQ(b.events.snapshots.size(), 1u);
}

TEST(TransportSnapshotTest, OneSnapshotInFlightPerPeer) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  Member a(kCluster, 1, [&](TransportOptions&, TransportCallbacks& cb) {
    cb.snapshot_source = [&](const raft::Message&) -> Result<std::unique_ptr<SnapshotReader>> {
      std::unique_lock l(mu);
      cv.wait(l, [&] { return release; });
      return std::unique_ptr<SnapshotReader>(new testutil::StringReader("data"));
    };
  });
  Member b(kCluster, 2);
  Connect(a, b);
  a->Send({Snap(1, 2, 5)});
  a->Send({Snap(1, 2, 6)});  // refused at once: the first is still in flight
  ASSERT_TRUE(Eventually([&] { return a.events.snapshot_status_count() == 1; }));
  {
    std::lock_guard l(a.events.mu);
    EXPECT_EQ(a.events.snapshot_status[0], std::make_pair(MemberId(2), false));
  }
  {
    std::lock_guard l(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(Eventually([&] { return a.events.snapshot_status_count() == 2; }));
  std::lock_guard l(a.events.mu);
  EXPECT_EQ(a.events.snapshot_status[1], std::make_pair(MemberId(2), true));
  EXPECT_EQ(b.events.snapshots.size(), 1u);
}

TEST(TransportSnapshotTest, SourceDisagreeingWithItsSizeFails) {
  Member a(kCluster, 1, [&](TransportOptions&, TransportCallbacks& cb) {
    cb.snapshot_source = [&](const raft::Message&) -> Result<std::unique_ptr<SnapshotReader>> {
      return std::unique_ptr<SnapshotReader>(new testutil::StringReader("short", 100));
    };
  });
  Member b(kCluster, 2);
  Connect(a, b);
  a->Send({Snap(1, 2, 5)});
  ASSERT_TRUE(Eventually([&] { return a.events.snapshot_status_count() == 1; }));
  std::lock_guard l(a.events.mu);
  EXPECT_FALSE(a.events.snapshot_status[0].second);
  EXPECT_TRUE(b.events.snapshots.empty());
  EXPECT_TRUE(Eventually([&] { return DirEmpty(b.dir() + "/snap"); }));
}

TEST(TransportSnapshotTest, CorruptOrTruncatedStreamsAreRejected) {
  Member b(kCluster, 2);
  const CallHeader h{kCluster, MemberId(1), MemberId(2)};
  const std::string data = TestData(4096);
  const std::string snap_dir = b.dir() + "/snap";

  std::string corrupt = data;
  corrupt[100] ^= 1;
  grpc::Status st = RawSnapshot(b.url(), h, Snap(1, 2, 5), data.size(), corrupt, Sha(data),
                                Ending::kTrailer);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::DATA_LOSS) << st.error_message();
  EXPECT_TRUE(DirEmpty(snap_dir));

  st = RawSnapshot(b.url(), h, Snap(1, 2, 5), data.size() + 1, data, Sha(data), Ending::kTrailer);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::OUT_OF_RANGE) << st.error_message();
  EXPECT_TRUE(DirEmpty(snap_dir));

  st = RawSnapshot(b.url(), h, Snap(1, 2, 5), data.size(), data, "", Ending::kHalfClose);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(DirEmpty(snap_dir));

  st = RawSnapshot(b.url(), h, Snap(1, 2, 5), data.size(), data, "", Ending::kCancel);
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(Eventually([&] { return DirEmpty(snap_dir); }));

  st = RawSnapshot(b.url(), h, App(1, 2, 5), data.size(), data, Sha(data), Ending::kTrailer);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();

  st = RawSnapshot(b.url(), CallHeader{0xbad, MemberId(1), MemberId(2)}, Snap(1, 2, 5),
                   data.size(), data, Sha(data), Ending::kTrailer);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(st.error_message().find("cluster ID mismatch"), std::string::npos);

  EXPECT_TRUE(DirEmpty(snap_dir));
  {
    std::lock_guard l(b.events.mu);
    EXPECT_TRUE(b.events.snapshots.empty());
  }
  // And an intact one is accepted.
  st = RawSnapshot(b.url(), h, Snap(1, 2, 5), data.size(), data, Sha(data), Ending::kTrailer);
  EXPECT_TRUE(st.ok()) << st.error_message();
  std::lock_guard l(b.events.mu);
  ASSERT_EQ(b.events.snapshots.size(), 1u);
  EXPECT_EQ(ReadAll(b.events.snapshots[0].second), data);
}

TEST(TransportTest, StartRejectsBadOptions) {
  testing::TempDir dir;
  TransportOptions o = testutil::TestOptions(kCluster, 1, dir.path());
  o.max_batch_bytes = o.max_message_bytes + 1;
  EXPECT_EQ(Transport::Start(o, {}).status().code(), Code::kInvalidArgument);
  o = testutil::TestOptions(kCluster, 1, dir.path());
  o.listen_urls = {"https://127.0.0.1:0"};  // https without TLS options
  EXPECT_EQ(Transport::Start(o, {}).status().code(), Code::kInvalidArgument);
  o = testutil::TestOptions(kCluster, 0, dir.path());
  EXPECT_EQ(Transport::Start(o, {}).status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace grid::transport
