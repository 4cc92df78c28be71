#include "transport/outgoing_queue.h"

#include <gtest/gtest.h>

#include "transport/codec.h"

namespace grid::transport {
namespace {

raft::Message Msg(uint64_t index, size_t payload = 0) {
  raft::Message m;
  m.type = raft::MessageType::kApp;
  m.index = raft::Index(index);
  if (payload > 0) m.entries.push_back(raft::Entry{raft::Term(1), raft::Index(index + 1),
                                                   raft::EntryType::kNormal,
                                                   std::string(payload, 'x')});
  return m;
}

TEST(OutgoingQueueTest, MessageCountLimit) {
  OutgoingQueue q(3, 1 << 20);
  EXPECT_TRUE(q.Push(Msg(1)));
  EXPECT_TRUE(q.Push(Msg(2)));
  EXPECT_TRUE(q.Push(Msg(3)));
  EXPECT_FALSE(q.Push(Msg(4)));  // at the limit
  EXPECT_EQ(q.size(), 3u);
  auto batch = q.PopBatch(1 << 20);
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].index, raft::Index(1));
  EXPECT_EQ(batch[2].index, raft::Index(3));
  EXPECT_TRUE(q.Push(Msg(5)));
}

TEST(OutgoingQueueTest, ByteLimit) {
  const uint64_t one = ApproxMessageBytes(Msg(1, 100));
  OutgoingQueue q(100, 2 * one);
  EXPECT_TRUE(q.Push(Msg(1, 100)));
  EXPECT_TRUE(q.Push(Msg(2, 100)));
  EXPECT_EQ(q.bytes(), 2 * one);
  EXPECT_FALSE(q.Push(Msg(3, 0)));  // exactly full: even the smallest message is refused
  q.PopBatch(1);
  EXPECT_EQ(q.bytes(), one);
  EXPECT_TRUE(q.Push(Msg(3, 100)));
}

TEST(OutgoingQueueTest, BatchesStopAtTheByteLimitButTakeAtLeastOne) {
  const uint64_t one = ApproxMessageBytes(Msg(1, 1000));
  OutgoingQueue q(100, 1 << 20);
  for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(q.Push(Msg(i, 1000)));
  auto b1 = q.PopBatch(2 * one);  // exactly two fit
  ASSERT_EQ(b1.size(), 2u);
  EXPECT_EQ(b1[1].index, raft::Index(2));
  auto b2 = q.PopBatch(2 * one - 1);  // one byte short of two
  ASSERT_EQ(b2.size(), 1u);
  EXPECT_EQ(b2[0].index, raft::Index(3));
  auto b3 = q.PopBatch(1);  // smaller than any message: still one
  ASSERT_EQ(b3.size(), 1u);
  EXPECT_EQ(b3[0].index, raft::Index(4));
  EXPECT_EQ(q.Clear(), 1u);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.bytes(), 0u);
}

}  // namespace
}  // namespace grid::transport
