#include "kv/server/solo_log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <thread>

namespace grid::kv {
namespace {
namespace fs = std::filesystem;

// Polls `done` until it holds or 10 s pass.
bool WaitFor(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

class SoloLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "gridlog-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    log_.reset();
    fs::remove_all(dir_);
  }

  // Creates a log whose committed entries land in committed_ (the test applies them by
  // calling OnApplied itself).
  void MakeLog(SoloLogLimits limits = {}) {
    wal::Options options;
    options.dir = (dir_ / "wal").string();
    auto wal = wal::Wal::Create(options, wal::Metadata{1, 2});
    ASSERT_TRUE(wal.ok()) << wal.status().ToString();
    log_ = std::make_unique<SoloLog>(std::move(*wal), 0, 0, 1, 1000, &waits_,
                                     [this](std::vector<wal::Entry> entries) {
                                       std::lock_guard lock(mu_);
                                       for (auto& e : entries) committed_.push_back(std::move(e));
                                     },
                                     limits);
  }

  // Plays the apply side: answers every committed entry's waiter and reports it applied.
  void ApplyCommitted() {
    std::vector<wal::Entry> entries;
    {
      std::lock_guard lock(mu_);
      entries.swap(committed_);
    }
    for (const auto& e : entries) {
      kvpb::InternalRequest r;
      ASSERT_TRUE(r.ParseFromString(e.data));
      if (auto done = waits_.Take(r.id())) done(Status::Ok(), {});
      log_->OnApplied(e.index);
    }
  }

  size_t CommittedCount() {
    std::lock_guard lock(mu_);
    return committed_.size();
  }

  fs::path dir_;
  WaitRegistry waits_;
  std::unique_ptr<SoloLog> log_;
  std::mutex mu_;
  std::vector<wal::Entry> committed_;
};

kvpb::InternalRequest PutRequest(const std::string& key) {
  kvpb::InternalRequest r;
  r.mutable_put()->set_key(key);
  r.mutable_put()->set_value("v");
  return r;
}

TEST_F(SoloLogTest, ProposalsAreCommittedInOrderAndSurviveReopen) {
  MakeLog();
  log_->Start({});
  std::atomic<int> answered{0};
  for (int i = 0; i < 100; ++i) {
    log_->Propose(PutRequest("k" + std::to_string(i)), [&](const Status& s, kvpb::InternalResponse) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      ++answered;
    });
  }
  ASSERT_TRUE(WaitFor([&] { return CommittedCount() == 100; }));
  {
    std::lock_guard lock(mu_);
    for (size_t i = 0; i < committed_.size(); ++i) {
      EXPECT_EQ(committed_[i].index, i + 1);
      kvpb::InternalRequest r;
      ASSERT_TRUE(r.ParseFromString(committed_[i].data));
      EXPECT_EQ(r.put().key(), "k" + std::to_string(i));
    }
  }
  ApplyCommitted();
  EXPECT_EQ(answered.load(), 100);
  EXPECT_EQ(log_->committed_index(), 100u);
  log_->Stop();
  log_.reset();

  wal::Options options;
  options.dir = (dir_ / "wal").string();
  wal::ReplayResult replay;
  auto reopened = wal::Wal::Open(options, &replay);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  ASSERT_EQ(replay.entries.size(), 100u);
  EXPECT_EQ(replay.entries.back().index, 100u);
  EXPECT_EQ(replay.hard_state.commit, 100u);
}

TEST_F(SoloLogTest, ReadBarrierWaitsForApply) {
  MakeLog();
  log_->Start({});
  log_->Propose(PutRequest("a"), [](const Status&, kvpb::InternalResponse) {});
  ASSERT_TRUE(WaitFor([&] { return CommittedCount() == 1; }));
  std::promise<Status> ready;
  log_->ReadBarrier([&](const Status& s) { ready.set_value(s); });
  auto f = ready.get_future();
  EXPECT_EQ(f.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  ApplyCommitted();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_TRUE(f.get().ok());
  // Nothing unapplied: the barrier passes at once, on the caller's thread.
  bool immediate = false;
  log_->ReadBarrier([&](const Status& s) { immediate = s.ok(); });
  EXPECT_TRUE(immediate);
}

TEST_F(SoloLogTest, QueueLimitRefusesWithTooManyRequests) {
  SoloLogLimits limits;
  limits.max_pending_proposals = 3;
  MakeLog(limits);
  // Not started: nothing drains the queue, so exactly the limit is accepted.
  std::vector<Status> results;
  for (int i = 0; i < 4; ++i) {
    log_->Propose(PutRequest("k"), [&](const Status& s, kvpb::InternalResponse) {
      results.push_back(s);
    });
  }
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].code(), Code::kResourceExhausted);
  EXPECT_EQ(results[0].message(), "etcdserver: too many requests");
  log_->Stop();
  ASSERT_EQ(results.size(), 4u);
  for (int i = 1; i < 4; ++i) EXPECT_EQ(results[i].message(), "etcdserver: server stopped");
}

TEST_F(SoloLogTest, ApplyBacklogLimitHoldsTheLogThread) {
  SoloLogLimits limits;
  limits.max_unapplied_entries = 2;
  limits.max_batch_entries = 1;
  MakeLog(limits);
  log_->Start({});
  for (int i = 0; i < 5; ++i) {
    log_->Propose(PutRequest("k"), [](const Status&, kvpb::InternalResponse) {});
  }
  ASSERT_TRUE(WaitFor([&] { return CommittedCount() == 2; }));
  // The log thread stops at the backlog limit until the apply side catches up.
  EXPECT_EQ(log_->committed_index(), 2u);
  ApplyCommitted();
  ASSERT_TRUE(WaitFor([&] { return CommittedCount() == 2; }));
  ApplyCommitted();
  ASSERT_TRUE(WaitFor([&] { return CommittedCount() == 1; }));
  ApplyCommitted();
  EXPECT_EQ(log_->applied_index(), 5u);
}

TEST_F(SoloLogTest, ProposalAfterStopIsRefused) {
  MakeLog();
  log_->Start({});
  log_->Stop();
  Status result;
  log_->Propose(PutRequest("k"), [&](const Status& s, kvpb::InternalResponse) { result = s; });
  EXPECT_EQ(result.code(), Code::kUnavailable);
}

}  // namespace
}  // namespace grid::kv

namespace grid::kv {
namespace {

TEST_F(SoloLogTest, ReleaseDropsOldSegmentsAndReplayStartsAfterTheMarker) {
  wal::Options options;
  options.dir = (dir_ / "wal").string();
  options.segment_bytes = wal::kMinSegmentBytes;  // a few entries per segment
  {
    auto wal = wal::Wal::Create(options, wal::Metadata{1, 2});
    ASSERT_TRUE(wal.ok()) << wal.status().ToString();
    log_ = std::make_unique<SoloLog>(std::move(*wal), 0, 0, 1, 1000, &waits_,
                                     [this](std::vector<wal::Entry> entries) {
                                       std::lock_guard lock(mu_);
                                       for (auto& e : entries) committed_.push_back(std::move(e));
                                     });
  }
  log_->Start({});
  for (int i = 0; i < 60; ++i) {
    log_->Propose(PutRequest("key-" + std::to_string(i)), [](const Status&, kvpb::InternalResponse) {});
    ASSERT_TRUE(WaitFor([&] { return CommittedCount() == 1; }));  // one entry per append
    ApplyCommitted();
  }
  const size_t segments_before = std::distance(fs::directory_iterator(dir_ / "wal"),
                                               fs::directory_iterator{});
  log_->ReleaseUpTo(50);
  ASSERT_TRUE(WaitFor([&] {
    return static_cast<size_t>(std::distance(fs::directory_iterator(dir_ / "wal"),
                                             fs::directory_iterator{})) < segments_before;
  }));
  log_->Stop();
  log_.reset();

  wal::ReplayResult replay;
  auto reopened = wal::Wal::Open(options, &replay);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(replay.snapshot.index, 50u);
  ASSERT_EQ(replay.entries.size(), 10u);
  EXPECT_EQ(replay.entries.front().index, 51u);
  EXPECT_EQ(replay.entries.back().index, 60u);
}

}  // namespace
}  // namespace grid::kv
