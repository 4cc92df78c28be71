// What a crash keeps: the store writes RocksDB without its log, so a crash keeps what the last
// flush made durable, and the consistent index falls back with the data (store_impl.h).
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <thread>

#include "storage/mvcc/test_util.h"

extern char** environ;

namespace grid::mvcc {
namespace {

using testing::Get;
using testing::OpenStore;
using testing::Put;
using testing::TempDir;

// Runs the crash writer on `dir` and returns its wait status.
int RunCrashWriter(const std::string& dir) {
  const std::string binary = GRID_MVCC_CRASH_WRITER;
  char* argv[] = {const_cast<char*>(binary.c_str()), const_cast<char*>(dir.c_str()), nullptr};
  pid_t pid = 0;
  GRID_CHECK(posix_spawn(&pid, binary.c_str(), nullptr, nullptr, argv, environ) == 0)
      << "cannot start " << binary;
  int status = 0;
  GRID_CHECK(waitpid(pid, &status, 0) == pid);
  return status;
}

TEST(DurabilityTest, AKilledWriterKeepsTheFlushedPrefixAndItsConsistentIndex) {
  TempDir dir;
  const int status = RunCrashWriter(dir.path());
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer did not reach its kill (wait status " << status << ")";
  auto store = OpenStore(dir.path());
  EXPECT_EQ(store->ConsistentIndex(), 10u);
  EXPECT_EQ(Get(*store, "durable").count, 1);
  EXPECT_EQ(Get(*store, "lost").count, 0);
  EXPECT_EQ(store->CurrentRevision(), 2);  // the flushed write's revision, nothing after it
  // The log replay that follows writes the lost entry again at the same revision.
  auto batch = store->BeginBatch();
  batch->BeginTxn().Put("lost", "v", 0);
  batch->EndTxn();
  batch->SetConsistentIndex(11);
  ASSERT_TRUE(batch->Commit().ok());
  EXPECT_EQ(Get(*store, "lost").kvs.at(0).mod_revision(), 3);
}

TEST(DurabilityTest, ACleanCloseKeepsEverything) {
  TempDir dir;
  {
    auto store = OpenStore(dir.path());
    Put(*store, "a", "1");
    Put(*store, "b", "2");
  }
  auto store = OpenStore(dir.path());
  EXPECT_EQ(store->CurrentRevision(), 3);
  EXPECT_EQ(Get(*store, "b").kvs.at(0).value(), "2");
}

// Unflushed writes count toward DbSizeBytes (the quota check reads it) though they are only in
// memtables, and flushed ones are not counted twice. The size is refreshed at most every
// 100 ms: poll.
TEST(DurabilityTest, UnflushedWritesCountInTheSizeOnce) {
  TempDir dir;
  auto store = OpenStore(dir.path());
  const int64_t empty = store->DbSizeBytes();
  constexpr int kPuts = 100;
  std::string value(1024, '\0');
  uint32_t x = 12345;  // values that do not compress, so the files hold about what was written
  int64_t written = 0;
  for (int i = 0; i < kPuts; ++i) {
    for (char& c : value) c = static_cast<char>((x = x * 1103515245 + 12345) >> 24);
    Put(*store, "k" + std::to_string(i), value);
    written += static_cast<int64_t>(value.size());
  }
  auto poll = [&store](auto done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done(store->DbSizeBytes()) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return store->DbSizeBytes();
  };
  const int64_t unflushed = poll([&](int64_t size) { return size >= empty + written; });
  EXPECT_GE(unflushed, empty + written);
  ASSERT_TRUE(store->Flush().ok());
  const int64_t flushed = poll([&](int64_t size) { return size != unflushed; });
  EXPECT_GE(flushed, written);
  EXPECT_LT(flushed, empty + written + written / 2);
}

}  // namespace
}  // namespace grid::mvcc
