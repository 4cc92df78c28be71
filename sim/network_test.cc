#include "sim/network.h"

#include <gtest/gtest.h>

#include <map>

namespace grid::sim {
namespace {

using raft::Message;
using raft::MessageType;

Message Msg(uint64_t from, uint64_t to, uint64_t index = 0, MessageType t = MessageType::kApp) {
  Message m;
  m.type = t;
  m.from = MemberId(from);
  m.to = MemberId(to);
  m.term = raft::Term(1);
  m.index = raft::Index(index);
  return m;
}

std::vector<Envelope> DrainUntil(Network& net, uint64_t last_tick) {
  std::vector<Envelope> out;
  for (uint64_t t = 0; t <= last_tick; ++t) {
    while (auto e = net.PopDue(t)) out.push_back(*e);
  }
  return out;
}

TEST(NetworkTest, DeliversWithinTheDelayRangeNeverInTheSendingTick) {
  NetworkConfig c;
  c.min_delay_ticks = 2;
  c.max_delay_ticks = 5;
  Network net(c, Rng(1));
  for (uint64_t i = 0; i < 200; ++i) net.Send(Msg(1, 2, i), 10);
  EXPECT_FALSE(net.PopDue(11).has_value());
  std::vector<Envelope> got = DrainUntil(net, 100);
  ASSERT_EQ(got.size(), 200u);
  std::map<uint64_t, int> ticks;
  for (const Envelope& e : got) {
    EXPECT_GE(e.deliver_tick, 12u);
    EXPECT_LE(e.deliver_tick, 15u);
    ++ticks[e.deliver_tick];
  }
  EXPECT_EQ(ticks.size(), 4u);  // every delay happens
}

TEST(NetworkTest, DifferentDelaysReorderMessages) {
  NetworkConfig c;
  c.max_delay_ticks = 4;
  Network net(c, Rng(2));
  for (uint64_t i = 0; i < 50; ++i) net.Send(Msg(1, 2, i), 0);
  std::vector<Envelope> got = DrainUntil(net, 10);
  ASSERT_EQ(got.size(), 50u);
  bool reordered = false;
  for (size_t i = 1; i < got.size(); ++i) reordered |= got[i].msg.index < got[i - 1].msg.index;
  EXPECT_TRUE(reordered);
  // Within one delivery tick, send order is kept.
  for (size_t i = 1; i < got.size(); ++i) {
    if (got[i].deliver_tick == got[i - 1].deliver_tick) {
      EXPECT_GT(got[i].seq, got[i - 1].seq);
    }
  }
}

TEST(NetworkTest, DropAndDuplicateRates) {
  NetworkConfig c;
  c.drop_ppm = 200'000;
  c.duplicate_ppm = 100'000;
  Network net(c, Rng(3));
  int queued = 0;
  for (uint64_t i = 0; i < 10'000; ++i) queued += net.Send(Msg(1, 2, i), 0);
  EXPECT_NEAR(net.stats().dropped, 2000, 300);
  EXPECT_NEAR(net.stats().duplicated, 800, 200);  // of the 8000 not dropped
  EXPECT_EQ(DrainUntil(net, 10).size(), static_cast<size_t>(queued));
}

TEST(NetworkTest, PartitionCutsBothWaysAndHealRestores) {
  Network net(NetworkConfig{}, Rng(4));
  net.Partition({{MemberId(1)}, {MemberId(2), MemberId(3)}});
  EXPECT_FALSE(net.Linked(MemberId(1), MemberId(2)));
  EXPECT_FALSE(net.Linked(MemberId(3), MemberId(1)));
  EXPECT_TRUE(net.Linked(MemberId(2), MemberId(3)));
  EXPECT_EQ(net.Send(Msg(1, 2), 0), 0);
  EXPECT_EQ(net.Send(Msg(2, 3), 0), 1);
  net.Heal();
  EXPECT_TRUE(net.Linked(MemberId(1), MemberId(2)));
  EXPECT_EQ(net.Send(Msg(1, 2), 0), 1);
}

TEST(NetworkTest, OneWayCut) {
  Network net(NetworkConfig{}, Rng(5));
  net.Cut(MemberId(1), MemberId(2));
  EXPECT_EQ(net.Send(Msg(1, 2), 0), 0);
  EXPECT_EQ(net.Send(Msg(2, 1), 0), 1);
}

TEST(NetworkTest, LostSnapshotIsReportedBackAtDeliveryTime) {
  NetworkConfig c;
  c.drop_ppm = 1'000'000;
  Network net(c, Rng(6));
  EXPECT_EQ(net.Send(Msg(1, 2, 0, MessageType::kSnap), 0), 0);
  EXPECT_EQ(net.Send(Msg(1, 2, 0, MessageType::kApp), 0), 0);
  std::vector<Envelope> got = DrainUntil(net, 10);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].lost);
  EXPECT_EQ(got[0].msg.type, MessageType::kSnap);
}

TEST(NetworkTest, InFlightLimit) {
  NetworkConfig c;
  c.max_in_flight_msgs = 10;
  Network net(c, Rng(7));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(net.Send(Msg(1, 2), 0), 1);
  EXPECT_EQ(net.in_flight(), 10u);
  EXPECT_EQ(net.Send(Msg(1, 2), 0), 0);
  EXPECT_EQ(net.stats().overflowed, 1u);
  // A snapshot refused for the limit still comes back as a failure notice.
  EXPECT_EQ(net.Send(Msg(1, 2, 0, MessageType::kSnap), 0), 0);
  EXPECT_EQ(net.in_flight(), 11u);
}

TEST(NetworkTest, SameSeedSameSchedule) {
  NetworkConfig c;
  c.drop_ppm = 100'000;
  c.max_delay_ticks = 5;
  c.duplicate_ppm = 50'000;
  auto run = [&] {
    Network net(c, Rng(99));
    for (uint64_t i = 0; i < 500; ++i) net.Send(Msg(1 + i % 3, 2, i), i / 10);
    std::vector<std::pair<uint64_t, uint64_t>> order;
    for (const Envelope& e : DrainUntil(net, 100))
      order.push_back({e.deliver_tick, e.msg.index.value()});
    return order;
  };
  EXPECT_EQ(run(), run());
}

}  // namespace
}  // namespace grid::sim
