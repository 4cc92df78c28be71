#include "router/watch/snapshot_reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "client/testing/etcd_fixture.h"
#include "router/watch/test_util.h"

namespace grid::router::watch {
namespace {

using testing::kPrefix;

std::string Key(int i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "k%04d", i);
  return std::string(kPrefix) + "/" + buf;
}

class SnapshotReaderTest : public client::testing::EtcdFixture {};

TEST_F(SnapshotReaderTest, ReadsEveryKeyInPagesAndNothingBesideThePrefix) {
  constexpr int kKeys = 25;
  for (int i = 0; i < kKeys; ++i) ASSERT_TRUE(client_->Put(Key(i), "v" + std::to_string(i)).ok());
  // Siblings that share the prefix's bytes but are not under "<prefix>/".
  ASSERT_TRUE(client_->Put(std::string(kPrefix) + "2/x", "no").ok());
  ASSERT_TRUE(client_->Put(std::string(kPrefix), "no").ok());
  ASSERT_TRUE(client_->Put(std::string(kPrefix) + ".x", "no").ok());
  auto last = client_->Put("/other", "no");
  ASSERT_TRUE(last.ok());

  SnapshotOptions options;
  options.max_page_keys = 4;
  auto snap = ReadSnapshot(*client_, kPrefix, options);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->revision, last->header().revision());
  EXPECT_EQ(snap->pages, 7u);  // 25 keys, 4 a page
  ASSERT_EQ(snap->source.kvs.size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) EXPECT_EQ(snap->source.kvs.at(Key(i)), "v" + std::to_string(i));
  EXPECT_EQ(snap->source.prefix, kPrefix);
}

TEST_F(SnapshotReaderTest, EmptyPrefix) {
  auto snap = ReadSnapshot(*client_, kPrefix);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_TRUE(snap->source.kvs.empty());
  EXPECT_GT(snap->revision, 0);
}

// Pages after the first ask for the first page's revision: with a writer changing and adding
// keys throughout a read of one key per page, the result still equals one range read at that
// revision.
TEST_F(SnapshotReaderTest, AllPagesAtOneRevisionWhileWritersRun) {
  constexpr int kKeys = 150;
  for (int i = 0; i < kKeys; ++i) ASSERT_TRUE(client_->Put(Key(i), "0").ok());
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  auto writer_client = Connect();
  ASSERT_NE(writer_client, nullptr);
  std::thread writer([&] {
    for (int n = 1; !stop; ++n) {
      if (writer_client->Put(Key(n % (2 * kKeys)), std::to_string(n)).ok()) ++writes;
    }
  });
  SnapshotOptions options;
  options.max_page_keys = 1;
  auto snap = ReadSnapshot(*client_, kPrefix, options);
  stop = true;
  writer.join();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_GT(writes.load(), 0);

  client::GetOptions get;
  get.prefix = true;
  get.revision = snap->revision;
  auto whole = client_->Get(std::string(kPrefix) + "/", get);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
  table::TableSource expected;
  for (const auto& kv : whole->kvs()) expected.kvs[kv.key()] = kv.value();
  EXPECT_EQ(snap->source.kvs, expected.kvs);
  EXPECT_EQ(snap->pages, expected.kvs.size());
}

// A page is sized so that values within the table's limits fit the client's receive limit;
// larger values make the server's answer too big, and the page is halved until it fits.
TEST_F(SnapshotReaderTest, PageHalvesWhenTheAnswerExceedsTheReceiveLimit) {
  client::ClientOptions small;
  small.max_receive_message_bytes = static_cast<int>(3 * kMaxEntryBytes);
  auto c = Connect(small);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(FirstPageKeys(kDefaultPageKeys, small.max_receive_message_bytes), 3u);
  const std::string big(90 * 1024, 'x');  // over kMaxValueBytes: 3 of them do not fit
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(client_->Put(Key(i), big).ok());
  auto snap = ReadSnapshot(*c, kPrefix);
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  EXPECT_EQ(snap->source.kvs.size(), 4u);
  EXPECT_EQ(snap->pages, 4u);  // one key a page after halving
}

TEST(SnapshotPageTest, FirstPageKeysLimits) {
  EXPECT_EQ(FirstPageKeys(kDefaultPageKeys, client::kDefaultMaxReceiveMessageBytes),
            kDefaultPageKeys);
  EXPECT_EQ(FirstPageKeys(kDefaultPageKeys, 4 * 1024 * 1024), 4u * 1024 * 1024 / kMaxEntryBytes);
  EXPECT_EQ(FirstPageKeys(kDefaultPageKeys, 1), 1u);  // never below one key
  EXPECT_EQ(FirstPageKeys(1, client::kDefaultMaxReceiveMessageBytes), 1u);
}

TEST_F(SnapshotReaderTest, SnapshotKeyLimitIsInclusive) {
  constexpr size_t kLimit = 5;
  SnapshotOptions options;
  options.max_snapshot_keys = kLimit;
  options.max_page_keys = 2;
  for (size_t i = 0; i < kLimit; ++i) ASSERT_TRUE(client_->Put(Key(static_cast<int>(i)), "v").ok());
  auto at_limit = ReadSnapshot(*client_, kPrefix, options);
  ASSERT_TRUE(at_limit.ok()) << at_limit.status().ToString();
  EXPECT_EQ(at_limit->source.kvs.size(), kLimit);
  ASSERT_TRUE(client_->Put(Key(static_cast<int>(kLimit)), "v").ok());
  auto over = ReadSnapshot(*client_, kPrefix, options);
  EXPECT_EQ(over.status().code(), Code::kResourceExhausted) << over.status().ToString();
  EXPECT_EQ(kMaxSnapshotKeys, table::kMaxTenants + table::kMaxCells + 1);
}

TEST_F(SnapshotReaderTest, UnreachableStoreIsAnError) {
  client::ClientOptions options;
  options.call_timeout = std::chrono::milliseconds(500);
  auto c = Connect(options);
  ASSERT_NE(c, nullptr);
  etcd_->Kill();
  auto snap = ReadSnapshot(*c, kPrefix);
  ASSERT_FALSE(snap.ok());
  EXPECT_TRUE(snap.status().code() == Code::kUnavailable ||
              snap.status().code() == Code::kDeadlineExceeded)
      << snap.status().ToString();
}

// The pinned revision is compacted after the first page of an attempt: the read starts over
// at a new revision, at most kMaxSnapshotRestarts times.
TEST_F(SnapshotReaderTest, CompactedBetweenPagesRestartsAtMostTheLimit) {
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(client_->Put(Key(i), "v").ok());
  auto compact_now = [&] {
    auto put = client_->Put("/elsewhere", "x");  // a new revision to compact to
    ASSERT_TRUE(put.ok());
    ASSERT_TRUE(client_->Compact(put->header().revision()).ok());
  };
  SnapshotOptions options;
  options.max_page_keys = 2;

  // Compacted during the first attempt only: one restart, then a whole read.
  int attempts = 0;
  options.after_page = [&](size_t pages) {
    if (pages == 1 && attempts++ == 0) compact_now();
  };
  auto once = ReadSnapshot(*client_, kPrefix, options);
  ASSERT_TRUE(once.ok()) << once.status().ToString();
  EXPECT_EQ(attempts, 2);
  EXPECT_EQ(once->source.kvs.size(), 4u);

  // Compacted during every attempt: 1 + kMaxSnapshotRestarts attempts, then the error.
  attempts = 0;
  options.after_page = [&](size_t pages) {
    if (pages == 1) {
      ++attempts;
      compact_now();
    }
  };
  auto never = ReadSnapshot(*client_, kPrefix, options);
  EXPECT_EQ(never.status().code(), Code::kOutOfRange) << never.status().ToString();
  EXPECT_EQ(attempts, 1 + kMaxSnapshotRestarts);
}

}  // namespace
}  // namespace grid::router::watch
