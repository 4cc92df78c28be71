#include "kv/server/reconfig_check.h"

#include <gtest/gtest.h>

#include <map>

#include "kv/server/members.h"

namespace grid::kv {
namespace {

using Clock = std::chrono::steady_clock;

struct Fixture {
  ReconfigView view;
  std::map<uint64_t, Clock::time_point> active;

  Fixture() {
    view.self = 1;
    view.now = Clock::now();
    view.active_since = [this](uint64_t id) -> std::optional<Clock::time_point> {
      auto it = active.find(id);
      if (it == active.end()) return std::nullopt;
      return it->second;
    };
  }
  // A voter (or learner) that published its name and has been connected for a minute.
  void Member(uint64_t id, bool started = true, bool learner = false) {
    kvpb::MemberRecord m;
    m.set_id(id);
    if (started) m.set_name("m" + std::to_string(id));
    m.set_is_learner(learner);
    view.members.push_back(m);
    if (id != view.self) active[id] = view.now - std::chrono::minutes(1);
  }
  Status Check(kvpb::MemberChange::Kind kind, uint64_t id, bool learner = false) const {
    kvpb::MemberChange c;
    c.set_kind(kind);
    c.mutable_member()->set_id(id);
    c.mutable_member()->set_is_learner(learner);
    return CheckReconfig(view, c);
  }
};

TEST(ReconfigCheckTest, HealthyClusterAllowsEveryChange) {
  Fixture f;
  for (uint64_t id : {1, 2, 3}) f.Member(id);
  EXPECT_TRUE(f.Check(kvpb::MemberChange::ADD, 9).ok());
  EXPECT_TRUE(f.Check(kvpb::MemberChange::REMOVE, 3).ok());
  EXPECT_TRUE(f.Check(kvpb::MemberChange::PROMOTE, 9).ok());
}

TEST(ReconfigCheckTest, AddVoterNeedsStartedQuorumOfTheNewSize) {
  Fixture f;
  f.Member(1);
  f.Member(2, /*started=*/false);
  f.Member(3, /*started=*/false);
  // 1 started of 4 after the add: refused; a learner is always fine.
  EXPECT_EQ(f.Check(kvpb::MemberChange::ADD, 9).message(),
            ErrNotEnoughStartedMembers().message());
  EXPECT_TRUE(f.Check(kvpb::MemberChange::ADD, 9, /*learner=*/true).ok());
}

TEST(ReconfigCheckTest, OneMemberClusterMayAlwaysAddASecond) {
  Fixture f;
  f.Member(1);
  EXPECT_TRUE(f.Check(kvpb::MemberChange::ADD, 2).ok());
}

TEST(ReconfigCheckTest, AddVoterNeedsEveryVoterConnectedForTheHealthInterval) {
  Fixture f;
  for (uint64_t id : {1, 2, 3}) f.Member(id);
  f.active[3] = f.view.now - std::chrono::milliseconds(kHealthIntervalMs - 1);
  EXPECT_EQ(f.Check(kvpb::MemberChange::ADD, 9).code(), Code::kUnavailable);
  EXPECT_EQ(f.Check(kvpb::MemberChange::ADD, 9).message(), "etcdserver: unhealthy cluster");
  f.active[3] = f.view.now - std::chrono::milliseconds(kHealthIntervalMs);
  EXPECT_TRUE(f.Check(kvpb::MemberChange::ADD, 9).ok());
  f.active.erase(3);  // down
  EXPECT_FALSE(f.Check(kvpb::MemberChange::ADD, 9).ok());
  // etcd checks the connections for a learner too.
  EXPECT_EQ(f.Check(kvpb::MemberChange::ADD, 9, /*learner=*/true).message(),
            "etcdserver: unhealthy cluster");
}

TEST(ReconfigCheckTest, RemovingADownMemberIsAlwaysAllowed) {
  Fixture f;
  for (uint64_t id : {1, 2, 3}) f.Member(id);
  f.active.erase(3);
  EXPECT_TRUE(f.Check(kvpb::MemberChange::REMOVE, 3).ok());
  // Removing a connected one while another is down leaves 1 of 2 connected: refused.
  EXPECT_EQ(f.Check(kvpb::MemberChange::REMOVE, 2).message(), "etcdserver: unhealthy cluster");
}

TEST(ReconfigCheckTest, RemoveNeedsStartedQuorumOfThoseLeft) {
  Fixture f;
  f.Member(1);
  f.Member(2, /*started=*/false);
  f.Member(3, /*started=*/false);
  f.Member(4);
  // Removing 4 leaves 1 started of 3.
  EXPECT_EQ(f.Check(kvpb::MemberChange::REMOVE, 4).message(),
            ErrNotEnoughStartedMembers().message());
}

TEST(ReconfigCheckTest, LearnersAreNeverCounted) {
  Fixture f;
  f.Member(1);
  f.Member(2);
  f.Member(7, /*started=*/false, /*learner=*/true);
  f.active.erase(7);
  EXPECT_TRUE(f.Check(kvpb::MemberChange::REMOVE, 7).ok());
  EXPECT_TRUE(f.Check(kvpb::MemberChange::ADD, 9).ok());
}

TEST(ReconfigCheckTest, PromoteCountsTheLearnerAsStarted) {
  Fixture f;
  f.Member(1);
  f.Member(2, /*started=*/false);
  f.Member(3, /*started=*/false);
  // 1 started + the learner = 2 of 4: refused; with a second started voter 3 of 4: allowed.
  EXPECT_FALSE(f.Check(kvpb::MemberChange::PROMOTE, 9).ok());
  f.view.members[1].set_name("m2");
  EXPECT_TRUE(f.Check(kvpb::MemberChange::PROMOTE, 9).ok());
}

}  // namespace
}  // namespace grid::kv
