// StoreHandle: forwarding, and replacing the store while readers run.
#include "storage/mvcc/store_handle.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "storage/mvcc/test_util.h"

namespace grid::mvcc {
namespace {

using testing::Delete;
using testing::Get;
using testing::OpenStore;
using testing::Put;
using testing::TempDir;

// What happened, in order, across threads.
class EventLog {
 public:
  void Add(const std::string& e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(e);
  }
  std::vector<std::string> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> events_;
};

// Lets a test hold calls inside FakeStore::Range.
class Gate {
 public:
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  // Called inside Range: counts the caller as waiting, waits until open.
  void Pass() {
    std::unique_lock<std::mutex> lock(mu_);
    ++waiting_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    --waiting_;
  }
  // Waits (with a deadline) until `n` callers are inside Pass().
  bool WaitForWaiting(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = true;
  int waiting_ = 0;
};

class FakeBatch final : public Batch {
 public:
  WriteTxn& BeginTxn() override {
    GRID_UNREACHABLE();
    __builtin_unreachable();
  }
  void EndTxn() override {}
  void PutMeta(std::string_view, std::string_view, std::string_view) override {}
  void DeleteMeta(std::string_view, std::string_view) override {}
  void SetConsistentIndex(uint64_t) override {}
  Result<std::vector<mvccpb::Event>> Commit() override { return std::vector<mvccpb::Event>{}; }
};

// A store that answers every read with its `tag` as the revision and logs when it closes.
class FakeStore final : public Store {
 public:
  FakeStore(int64_t tag, EventLog* log, Gate* gate = nullptr) : tag_(tag), log_(log), gate_(gate) {}
  ~FakeStore() override { log_->Add("closed " + std::to_string(tag_)); }

  Result<RangeResult> Range(std::string_view, std::string_view,
                            const RangeOptions&) const override {
    if (gate_ != nullptr) gate_->Pass();
    RangeResult r;
    r.revision = tag_;
    return r;
  }
  int64_t CurrentRevision() const override { return tag_; }
  int64_t CompactedRevision() const override { return 0; }
  uint64_t ConsistentIndex() const override { return static_cast<uint64_t>(tag_); }
  Result<std::vector<mvccpb::Event>> EventsInRange(std::string_view, std::string_view, int64_t,
                                                   int64_t, bool) const override {
    return std::vector<mvccpb::Event>{};
  }
  std::unique_ptr<Batch> BeginBatch() override { return std::make_unique<FakeBatch>(); }
  Status Compact(int64_t) override { return Status::Ok(); }
  Result<std::vector<std::pair<std::string, std::string>>> ReadMeta(
      std::string_view) const override {
    return std::vector<std::pair<std::string, std::string>>{};
  }
  Result<uint32_t> HashBackend() const override { return static_cast<uint32_t>(tag_); }
  Result<HashResult> HashKV(int64_t) const override { return HashResult{}; }
  Status Defragment() override { return Status::Ok(); }
  int64_t DbSizeBytes() const override { return 0; }
  int64_t DbSizeInUseBytes() const override { return 0; }
  Status Checkpoint(const std::string&) const override { return Status::Ok(); }

 private:
  const int64_t tag_;
  EventLog* const log_;
  Gate* const gate_;
};

int64_t ServedBy(const Store& store) {
  auto r = store.Range("k", "", {});
  GRID_CHECK(r.ok()) << r.status().ToString();
  return r->revision;
}

TEST(StoreHandleTest, ForwardsReadsAndWritesToTheCurrentStore) {
  TempDir dir;
  StoreHandle handle(OpenStore(dir.path() + "/a"));
  Put(handle, "a", "1");  // 2
  Put(handle, "b", "1");  // 3
  Put(handle, "a", "2");  // 4
  Delete(handle, "b");    // 5
  {
    auto batch = handle.BeginBatch();
    batch->PutMeta("members", "m1", "x");
    batch->PutMeta("lease", "l1", "y");
    batch->DeleteMeta("lease", "l1");
    batch->SetConsistentIndex(7);
    ASSERT_TRUE(batch->Commit().ok());
  }
  EXPECT_EQ(handle.CurrentRevision(), 5);
  EXPECT_EQ(handle.ConsistentIndex(), 7u);
  EXPECT_EQ(Get(handle, "a").kvs.at(0).value(), "2");
  EXPECT_EQ(Get(handle, "a", "", {.revision = 2}).kvs.at(0).value(), "1");
  EXPECT_EQ(handle.ReadMeta("members")->size(), 1u);
  EXPECT_TRUE(handle.ReadMeta("lease")->empty());
  auto events = handle.EventsInRange("a", "c", 2, 5, false);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 4u);
  ASSERT_TRUE(handle.Compact(4).ok());
  EXPECT_EQ(handle.CompactedRevision(), 4);
  EXPECT_EQ(handle.Compact(3).code(), Code::kOutOfRange);

  auto pinned = handle.Pin();
  EXPECT_EQ(handle.HashKV(0)->hash, pinned->HashKV(0)->hash);
  EXPECT_EQ(handle.HashBackend().value(), pinned->HashBackend().value());
  int records = 0;
  ASSERT_TRUE(handle.ExportRaw([&](const RawRecord&) {
    ++records;
    return Status::Ok();
  }).ok());
  EXPECT_GT(records, 0);
  ASSERT_TRUE(handle.Flush().ok());
  ASSERT_TRUE(handle.Defragment().ok());
  EXPECT_GT(handle.DbSizeBytes(), 0);
  EXPECT_GE(handle.DbSizeInUseBytes(), 0);
  ASSERT_TRUE(handle.Checkpoint(dir.path() + "/checkpoint").ok());
  EXPECT_EQ(Get(*OpenStore(dir.path() + "/checkpoint"), "a").kvs.at(0).value(), "2");
}

TEST(StoreHandleTest, ReplaceSwitchesReadsAndWritesAndRunsTheActionOnce) {
  TempDir dir;
  const std::string a_dir = dir.path() + "/a";
  StoreHandle handle(OpenStore(a_dir));
  Put(handle, "k", "from a");
  auto b = OpenStore(dir.path() + "/b");
  Put(*b, "k", "from b");
  Put(*b, "k", "from b again");

  int actions = 0;
  handle.Replace(std::move(b), [&] {
    ++actions;
    std::filesystem::remove_all(a_dir);  // the old store is closed by now
  });
  // No call was running: the old store closed and the action ran inside Replace.
  EXPECT_EQ(actions, 1);
  EXPECT_FALSE(std::filesystem::exists(a_dir));
  EXPECT_EQ(handle.replacements(), 1u);
  EXPECT_EQ(Get(handle, "k").kvs.at(0).value(), "from b again");
  EXPECT_EQ(handle.CurrentRevision(), 3);
  Put(handle, "k", "written after");
  EXPECT_EQ(Get(handle, "k").kvs.at(0).value(), "written after");
  EXPECT_EQ(handle.CurrentRevision(), 4);
  EXPECT_EQ(actions, 1);
}

TEST(StoreHandleTest, AfterOldClosedRunsOnlyAfterTheLastInFlightReader) {
  EventLog log;
  Gate gate;
  gate.Close();
  StoreHandle handle(std::make_unique<FakeStore>(1, &log, &gate));
  std::atomic<int64_t> served_1{0}, served_2{0};
  std::thread r1([&] { served_1 = ServedBy(handle); });
  std::thread r2([&] { served_2 = ServedBy(handle); });
  ASSERT_TRUE(gate.WaitForWaiting(2));  // both readers hold store 1

  std::atomic<int> actions{0};
  handle.Replace(std::make_unique<FakeStore>(2, &log), [&] {
    actions.fetch_add(1);
    log.Add("action");
  });
  EXPECT_EQ(actions.load(), 0);
  EXPECT_TRUE(log.events().empty());  // store 1 still open
  EXPECT_EQ(ServedBy(handle), 2);     // a call started after Replace returned: the new store

  gate.Open();
  r1.join();
  r2.join();
  EXPECT_EQ(served_1.load(), 1);  // in-flight calls finished on the old store
  EXPECT_EQ(served_2.load(), 1);
  EXPECT_EQ(actions.load(), 1);
  EXPECT_EQ(log.events(), (std::vector<std::string>{"closed 1", "action"}));
}

TEST(StoreHandleTest, PinKeepsTheStoreOpenUntilReleased) {
  EventLog log;
  StoreHandle handle(std::make_unique<FakeStore>(1, &log));
  auto pinned = handle.Pin();
  int actions = 0;
  handle.Replace(std::make_unique<FakeStore>(2, &log), [&] { ++actions; });
  EXPECT_EQ(actions, 0);
  EXPECT_EQ(ServedBy(*pinned), 1);
  EXPECT_EQ(ServedBy(handle), 2);
  pinned.reset();
  EXPECT_EQ(actions, 1);
  EXPECT_EQ(log.events(), (std::vector<std::string>{"closed 1"}));
}

TEST(StoreHandleTest, DestroyingTheHandleRunsNoAction) {
  EventLog log;
  int actions = 0;
  {
    StoreHandle handle(std::make_unique<FakeStore>(1, &log));
  }
  EXPECT_EQ(log.events(), (std::vector<std::string>{"closed 1"}));
  {
    StoreHandle handle(std::make_unique<FakeStore>(2, &log));
    handle.Replace(std::make_unique<FakeStore>(3, &log), [&] { ++actions; });
    EXPECT_EQ(actions, 1);
  }
  // Store 3 (current at destruction) closed with no action; store 2's action ran once.
  EXPECT_EQ(actions, 1);
  EXPECT_EQ(log.events(), (std::vector<std::string>{"closed 1", "closed 2", "closed 3"}));
}

TEST(StoreHandleTest, ReplaceWhileReadersHammerRange) {
  // Readers loop on Range while the writer replaces the store kRounds times: every read is
  // answered by some store, a reader never goes back to an older store, every old store closes
  // and its action runs exactly once.
  constexpr int kReaders = 4;
  constexpr int kRounds = 50;
  EventLog log;
  StoreHandle handle(std::make_unique<FakeStore>(0, &log));
  std::atomic<bool> stop{false};
  std::atomic<int64_t> reads{0};
  std::atomic<int> regressions{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.emplace_back([&] {
      int64_t last = 0;
      while (!stop.load()) {
        const int64_t tag = ServedBy(handle);
        if (tag < last) regressions.fetch_add(1);
        last = tag;
        reads.fetch_add(1);
      }
    });
  }
  std::vector<std::atomic<int>> actions(kRounds);
  for (int round = 1; round <= kRounds; ++round) {
    const int64_t before = reads.load();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (reads.load() < before + 100 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    handle.Replace(std::make_unique<FakeStore>(round, &log),
                   [&actions, round] { actions[round - 1].fetch_add(1); });
    EXPECT_EQ(ServedBy(handle), round);
  }
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(regressions.load(), 0);
  EXPECT_GT(reads.load(), 100 * kRounds);
  for (int i = 0; i < kRounds; ++i) EXPECT_EQ(actions[i].load(), 1) << "store " << i;
  EXPECT_EQ(log.events().size(), static_cast<size_t>(kRounds));  // stores 0..kRounds-1 closed
}

TEST(StoreHandleTest, ReplaceRealStoresUnderConcurrentReads) {
  TempDir dir;
  StoreHandle handle(OpenStore(dir.path() + "/a"));
  Put(handle, "k", "a");
  auto b = OpenStore(dir.path() + "/b");
  Put(*b, "k", "b");
  std::atomic<bool> stop{false};
  std::atomic<int64_t> reads{0};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      bool seen_b = false;
      while (!stop.load()) {
        auto r = handle.Range("k", "", {});
        const std::string v = r.ok() && r->kvs.size() == 1 ? r->kvs[0].value() : "?";
        if (v == "b") seen_b = true;
        if (v != "b" && (v != "a" || seen_b)) bad.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  const auto wait_reads = [&](int64_t n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (reads.load() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
  };
  wait_reads(200);
  std::atomic<int> actions{0};
  handle.Replace(std::move(b), [&] { actions.fetch_add(1); });
  EXPECT_EQ(Get(handle, "k").kvs.at(0).value(), "b");
  wait_reads(reads.load() + 200);
  stop = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(actions.load(), 1);
}

TEST(StoreHandleTest, BatchKeepsItsStoreOpen) {
  EventLog log;
  StoreHandle handle(std::make_unique<FakeStore>(1, &log));
  auto batch = handle.BeginBatch();
  EXPECT_TRUE(batch->Commit().ok());
  batch.reset();
  handle.Replace(std::make_unique<FakeStore>(2, &log), nullptr);  // no action is fine
  EXPECT_EQ(log.events(), (std::vector<std::string>{"closed 1"}));
}

TEST(StoreHandleDeathTest, ReplaceWithABatchOpenCrashes) {
  EventLog log;
  StoreHandle handle(std::make_unique<FakeStore>(1, &log));
  auto batch = handle.BeginBatch();
  EXPECT_DEATH(handle.Replace(std::make_unique<FakeStore>(2, &log), nullptr), "batch open");
}

}  // namespace
}  // namespace grid::mvcc
