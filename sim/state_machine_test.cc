#include "sim/state_machine.h"

#include <gtest/gtest.h>

namespace grid::sim {
namespace {

Command Put(uint64_t client, uint64_t seq, std::string key, std::string value) {
  Command c;
  c.client = client;
  c.seq = seq;
  c.type = CommandType::kPut;
  c.key = std::move(key);
  c.value = std::move(value);
  return c;
}

TEST(StateMachineTest, CommandRoundTrip) {
  Command c = Put(3, 7, "k", "v");
  c.type = CommandType::kCas;
  c.expected = "old";
  Result<Command> back = DecodeCommand(EncodeCommand(c));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value(), c);
  c.expected.reset();
  back = DecodeCommand(EncodeCommand(c));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back.value(), c);
  EXPECT_FALSE(DecodeCommand("").ok());
  EXPECT_FALSE(DecodeCommand(EncodeCommand(c).substr(0, 10)).ok());
  EXPECT_FALSE(DecodeCommand(EncodeCommand(c) + "x").ok());
}

TEST(StateMachineTest, PutDeleteCas) {
  KvStateMachine sm;
  EXPECT_TRUE(sm.Apply(Put(1, 1, "k", "a")).took_effect);
  EXPECT_EQ(sm.Get("k"), "a");
  Command cas = Put(1, 2, "k", "b");
  cas.type = CommandType::kCas;
  cas.expected = "x";
  EXPECT_FALSE(sm.Apply(cas).swapped);
  EXPECT_EQ(sm.Get("k"), "a");
  cas.seq = 3;
  cas.expected = "a";
  EXPECT_TRUE(sm.Apply(cas).swapped);
  EXPECT_EQ(sm.Get("k"), "b");
  Command del = Put(1, 4, "k", "");
  del.type = CommandType::kDelete;
  EXPECT_TRUE(sm.Apply(del).existed);
  EXPECT_FALSE(sm.Get("k").has_value());
}

TEST(StateMachineTest, SessionsApplyEachCommandOnceInOrder) {
  KvStateMachine sm;
  EXPECT_TRUE(sm.Apply(Put(1, 2, "k", "a")).took_effect);
  EXPECT_FALSE(sm.Apply(Put(1, 2, "k", "dup")).took_effect);  // duplicated proposal
  EXPECT_FALSE(sm.Apply(Put(1, 1, "k", "old")).took_effect);  // superseded
  EXPECT_EQ(sm.Get("k"), "a");
  EXPECT_TRUE(sm.Apply(Put(2, 1, "k", "b")).took_effect);  // another client
}

TEST(StateMachineTest, SnapshotRoundTripKeepsDigest) {
  KvStateMachine sm;
  (void)sm.Apply(Put(1, 1, "a", "1"));
  (void)sm.Apply(Put(2, 5, "b", "2"));
  Result<KvStateMachine> back = KvStateMachine::Decode(sm.Encode());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Digest(), sm.Digest());
  EXPECT_EQ(back->Get("b"), "2");
  // Sessions are part of the state: a replayed command stays a duplicate after a snapshot.
  EXPECT_FALSE(back->Apply(Put(2, 5, "b", "x")).took_effect);
  EXPECT_TRUE(KvStateMachine::Decode("").ok());
  EXPECT_FALSE(KvStateMachine::Decode("S").ok());
}

}  // namespace
}  // namespace grid::sim
