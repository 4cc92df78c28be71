#include "transport/codec.h"

#include <gtest/gtest.h>

#include <limits>

namespace grid::transport {
namespace {

using raft::Entry;
using raft::EntryType;
using raft::Index;
using raft::MemberId;
using raft::Message;
using raft::MessageType;
using raft::Term;

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

const MessageType kAllTypes[] = {
    MessageType::kHup,          MessageType::kBeat,          MessageType::kUnreachable,
    MessageType::kSnapStatus,   MessageType::kCheckQuorum,   MessageType::kProp,
    MessageType::kApp,          MessageType::kAppResp,       MessageType::kVote,
    MessageType::kVoteResp,     MessageType::kPreVote,       MessageType::kPreVoteResp,
    MessageType::kSnap,         MessageType::kHeartbeat,     MessageType::kHeartbeatResp,
    MessageType::kTransferLeader, MessageType::kTimeoutNow,  MessageType::kReadIndex,
    MessageType::kReadIndexResp};

Message RoundTrip(const Message& m) {
  peerpb::Message pb;
  EncodeMessage(m, &pb);
  std::string wire = pb.SerializeAsString();
  peerpb::Message back_pb;
  EXPECT_TRUE(back_pb.ParseFromString(wire));
  Message out;
  Status s = DecodeMessage(back_pb, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_LE(wire.size(), ApproxMessageBytes(m));
  return out;
}

// Every field of Message set to a value different from its default.
Message FullMessage(MessageType type) {
  Message m;
  m.type = type;
  m.to = MemberId(0x1122334455667788);
  m.from = MemberId(kMax);
  m.term = Term(7);
  m.log_term = Term(6);
  m.index = Index(kMax - 1);
  m.entries.push_back(Entry{Term(5), Index(100), EntryType::kNormal, std::string("a\0b", 3)});
  m.entries.push_back(Entry{Term(6), Index(101), EntryType::kConfChange, "cc"});
  m.entries.push_back(Entry{Term(6), Index(102), EntryType::kNormal, ""});  // leader no-op
  m.commit = Index(99);
  raft::Snapshot snap;
  snap.meta.index = Index(50);
  snap.meta.term = Term(4);
  snap.meta.conf_state.voters = {MemberId(1), MemberId(2), MemberId(kMax)};
  snap.meta.conf_state.learners = {MemberId(9)};
  snap.data = std::string("\xff\x00token", 7);
  m.snapshot = snap;
  m.reject = true;
  m.reject_hint = Index(42);
  m.context = std::string("ctx\0x", 5);
  return m;
}

TEST(CodecTest, EveryTypeWithEveryFieldRoundTrips) {
  for (MessageType t : kAllTypes) {
    Message m = FullMessage(t);
    EXPECT_EQ(RoundTrip(m), m) << MessageTypeLabel(t);
  }
}

TEST(CodecTest, DefaultMessageRoundTrips) {
  Message m;
  EXPECT_EQ(RoundTrip(m), m);
}

TEST(CodecTest, AbsentAndEmptySnapshotsStayDistinct) {
  Message none;
  none.type = MessageType::kApp;
  Message empty = none;
  empty.type = MessageType::kSnap;
  empty.snapshot = raft::Snapshot{};
  Message back_none = RoundTrip(none);
  Message back_empty = RoundTrip(empty);
  EXPECT_FALSE(back_none.snapshot.has_value());
  ASSERT_TRUE(back_empty.snapshot.has_value());
  EXPECT_TRUE(back_empty.snapshot->empty());
  EXPECT_EQ(back_empty, empty);
}

TEST(CodecTest, EachFieldAloneRoundTrips) {
  // One field at a time, so that no field can hide behind another one.
  std::vector<Message> cases(10);
  cases[0].to = MemberId(3);
  cases[1].from = MemberId(4);
  cases[2].term = Term(5);
  cases[3].log_term = Term(6);
  cases[4].index = Index(7);
  cases[5].entries = {Entry{Term(1), Index(1), EntryType::kNormal, "x"}};
  cases[6].commit = Index(8);
  cases[7].reject = true;
  cases[8].reject_hint = Index(9);
  cases[9].context = "c";
  for (size_t i = 0; i < cases.size(); ++i) {
    cases[i].type = MessageType::kAppResp;
    EXPECT_EQ(RoundTrip(cases[i]), cases[i]) << "case " << i;
    Message plain;
    plain.type = MessageType::kAppResp;
    EXPECT_NE(cases[i], plain) << "case " << i;
  }
}

TEST(CodecTest, LargeEntriesRoundTrip) {
  Message m;
  m.type = MessageType::kApp;
  for (int i = 0; i < 100; ++i) {
    m.entries.push_back(Entry{Term(3), Index(static_cast<uint64_t>(i) + 1), EntryType::kNormal,
                              std::string(1000 + static_cast<size_t>(i), static_cast<char>(i))});
  }
  EXPECT_EQ(RoundTrip(m), m);
}

TEST(CodecTest, UnknownMessageTypeIsRejected) {
  for (int v : {5, 9, 24, 1000, -1}) {
    peerpb::Message pb;
    pb.set_type(static_cast<peerpb::MessageType>(v));
    Message out;
    Status s = DecodeMessage(pb, &out);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << v;
  }
}

TEST(CodecTest, UnknownEntryTypeIsRejected) {
  peerpb::Message pb;
  pb.set_type(peerpb::APP);
  pb.add_entries()->set_type(static_cast<peerpb::EntryType>(2));
  Message out;
  EXPECT_EQ(DecodeMessage(pb, &out).code(), Code::kInvalidArgument);
}

TEST(CodecTest, WireNumbersMatchTheCore) {
  for (MessageType t : kAllTypes) {
    peerpb::Message pb;
    Message m;
    m.type = t;
    EncodeMessage(m, &pb);
    EXPECT_EQ(static_cast<int>(pb.type()), static_cast<int>(t));
    EXPECT_NE(std::string(MessageTypeLabel(t)), "unknown");
  }
  EXPECT_EQ(static_cast<int>(peerpb::CONF_CHANGE), static_cast<int>(EntryType::kConfChange));
}

TEST(CodecTest, PeerTypesAreTheWireTypes) {
  for (MessageType t : kAllTypes) {
    EXPECT_EQ(IsPeerMessageType(t), static_cast<int>(t) >= 10) << MessageTypeLabel(t);
  }
}

}  // namespace
}  // namespace grid::transport
