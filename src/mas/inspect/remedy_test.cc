// GatherProbes and RemedyNoSpace over kvcluster::testing::FakeCluster (membership, Status,
// leader) with FakeMaintenance (revisions, hashes, db sizes, alarms) layered on top.
#include "mas/inspect/remedy.h"

#include <gtest/gtest.h>

#include "mas/inspect/probe.h"
#include "mas/inspect/testing/fake_maintenance.h"
#include "mas/kvcluster/testing/fake_cluster.h"
#include "mas/kvcluster/testing/fake_runtime.h"

namespace grid::mas::inspect {
namespace {

using kvcluster::AlarmInfo;
using kvcluster::AlarmType;

constexpr int64_t kQuota = int64_t{16} << 20;
constexpr uint64_t kId0 = 0x1000;  // c-0: the fake's leader (lowest answering id)
constexpr uint64_t kId1 = 0x1001;

std::string ClientUrl(int i) { return "http://127.0.0.1:" + std::to_string(41000 + i); }
std::string PeerUrl(int i) { return "http://127.0.0.1:" + std::to_string(42000 + i); }
std::string Name(int i) { return "c-" + std::to_string(i); }

class RemedyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string initial;
    for (int i = 0; i < 3; ++i) initial += (i ? "," : "") + Name(i) + "=" + PeerUrl(i);
    for (int i = 0; i < 3; ++i) {
      runtime::InstanceSpec spec;
      spec.name = "kv/c/" + Name(i);
      spec.engine = "etcd";
      spec.version = "3.4.0";
      spec.args = {"--name", Name(i), "--advertise-client-urls", ClientUrl(i),
                   "--initial-advertise-peer-urls", PeerUrl(i), "--initial-cluster", initial,
                   "--initial-cluster-state", "new"};
      ASSERT_TRUE(runtime_.Start(spec).ok());
      status_.members.push_back({Name(i), "", ClientUrl(i), PeerUrl(i), "3.4.0", true});
    }
    auto api = maintenance_.Factory(cluster_.Factory())(MemberEndpoints(status_));
    ASSERT_TRUE(api.ok());
    api_ = std::move(*api);
    ASSERT_EQ(cluster_.LeaderId(), kId0);
  }

  Probes Gather() { return GatherProbes(api_.get(), status_, "2026-01-01T00:00:00Z"); }

  std::vector<std::string> Reasons(const RemedyResult& r) {
    std::vector<std::string> out;
    for (const auto& e : r.events) out.push_back(e.reason);
    return out;
  }

  kvcluster::testing::FakeRuntime runtime_;
  kvcluster::testing::FakeCluster cluster_{&runtime_};
  testing::FakeMaintenance maintenance_;
  ResourceStatus status_;
  std::unique_ptr<kvcluster::ClusterApi> api_;
};

TEST_F(RemedyTest, ProbesOfAHealthyCluster) {
  Probes p = Gather();
  ASSERT_EQ(p.members.size(), 3u);
  EXPECT_EQ(p.hash_revision, 100);
  EXPECT_TRUE(p.alarms_known);
  for (const auto& m : p.members) {
    EXPECT_TRUE(m.reachable) << m.name;
    EXPECT_TRUE(m.hash.has_value()) << m.name;
    EXPECT_EQ(m.status.leader_id, kId0);
  }
  InspectionReport r = Evaluate(KVClusterSpec{}, status_, p);
  for (const auto& c : r.conditions) EXPECT_EQ(c.status, ConditionStatus::kTrue) << c.type << ": " << c.message;
}

TEST_F(RemedyTest, HashesTakenAtTheSmallestRevision) {
  maintenance_.SetEndpointRevision(ClientUrl(2), 90);
  Probes p = Gather();
  EXPECT_EQ(p.hash_revision, 90);
  EXPECT_EQ(p.members[0].current_revision, 100);
  EXPECT_EQ(p.members[2].current_revision, 90);
  EXPECT_EQ(*p.members[0].hash, *p.members[2].hash);
  InspectionReport r = Evaluate(KVClusterSpec{}, status_, p);
  EXPECT_EQ(FindReportCondition(r, kCondHashAgreement)->status, ConditionStatus::kTrue);
}

TEST_F(RemedyTest, HashMismatchNamesTheMember) {
  maintenance_.SetHash(ClientUrl(1), 0xbad);
  InspectionReport r = Evaluate(KVClusterSpec{}, status_, Gather());
  const Condition* c = FindReportCondition(r, kCondHashAgreement);
  EXPECT_EQ(c->status, ConditionStatus::kFalse);
  EXPECT_NE(c->message.find("members c-1 disagree at revision 100"), std::string::npos) << c->message;
}

TEST_F(RemedyTest, StoppedMemberIsUnreachable) {
  ASSERT_TRUE(runtime_.Stop("kv/c/" + Name(2), std::chrono::milliseconds(0)).ok());
  Probes p = Gather();
  EXPECT_FALSE(p.members[2].reachable);
  EXPECT_NE(p.members[2].error.find("refused"), std::string::npos) << p.members[2].error;
  InspectionReport r = Evaluate(KVClusterSpec{}, status_, p);
  EXPECT_EQ(FindReportCondition(r, kCondHealthy)->status, ConditionStatus::kFalse);
  EXPECT_EQ(FindReportCondition(r, kCondHashAgreement)->status, ConditionStatus::kTrue);
}

TEST_F(RemedyTest, NoAlarmNoRemedy) {
  RemedyResult r = RemedyNoSpace(api_.get(), Gather(), kQuota);
  EXPECT_FALSE(r.attempted);
  EXPECT_TRUE(maintenance_.Calls().empty());
}

TEST_F(RemedyTest, CompactsThenDefragmentsFollowersFirstLeaderLastThenDisarms) {
  for (int i = 0; i < 3; ++i) maintenance_.SetDbSize(ClientUrl(i), kQuota + 1);
  maintenance_.RaiseAlarm({kId1, AlarmType::kNoSpace});
  RemedyResult r = RemedyNoSpace(api_.get(), Gather(), kQuota);
  ASSERT_TRUE(r.attempted);
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(maintenance_.Calls(),
            (std::vector<std::string>{"Compact 100", "Defragment " + ClientUrl(1),
                                      "Defragment " + ClientUrl(2), "Defragment " + ClientUrl(0),
                                      "AlarmDisarm NOSPACE 1001"}));
  EXPECT_EQ(Reasons(r), (std::vector<std::string>{"Compacted", "Defragmented", "Defragmented",
                                                  "Defragmented", "Disarmed"}));
  EXPECT_EQ(r.condition.type, kCondNoSpaceRemedied);
  EXPECT_EQ(r.condition.status, ConditionStatus::kTrue);
  EXPECT_NE(r.condition.message.find("defragmented c-1, c-2, c-0"), std::string::npos)
      << r.condition.message;
  EXPECT_TRUE(maintenance_.Alarms().empty());
  // The next inspection finds the cluster clean.
  InspectionReport after = Evaluate(KVClusterSpec{}, status_, Gather());
  EXPECT_EQ(FindReportCondition(after, kCondAlarms)->status, ConditionStatus::kTrue);
}

TEST_F(RemedyTest, CompactsAtTheSmallestRevision) {
  maintenance_.SetEndpointRevision(ClientUrl(0), 97);
  maintenance_.RaiseAlarm({kId0, AlarmType::kNoSpace});
  RemedyResult r = RemedyNoSpace(api_.get(), Gather(), kQuota);
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(maintenance_.CompactRevision(), 97);
}

TEST_F(RemedyTest, AlreadyCompactedCountsAsDone) {
  ASSERT_TRUE(maintenance_.Compact(100).ok());
  maintenance_.RaiseAlarm({kId0, AlarmType::kNoSpace});
  RemedyResult r = RemedyNoSpace(api_.get(), Gather(), kQuota);
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.condition.status, ConditionStatus::kTrue);
  EXPECT_NE(r.events[0].message.find("already compacted"), std::string::npos);
}

TEST_F(RemedyTest, FailedCompactionStopsBeforeDefragment) {
  maintenance_.RaiseAlarm({kId0, AlarmType::kNoSpace});
  maintenance_.FailNext("Compact", Unavailable("leader changed"));
  RemedyResult r = RemedyNoSpace(api_.get(), Gather(), kQuota);
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.condition.status, ConditionStatus::kFalse);
  EXPECT_EQ(r.condition.reason, "CompactFailed");
  EXPECT_EQ(maintenance_.Calls(), (std::vector<std::string>{"Compact 100"}));
  EXPECT_EQ(maintenance_.Alarms().size(), 1u);
}

TEST_F(RemedyTest, FailedDefragmentStopsBeforeDisarm) {
  maintenance_.RaiseAlarm({kId0, AlarmType::kNoSpace});
  maintenance_.FailNext("Defragment", Internal("disk full"));
  RemedyResult r = RemedyNoSpace(api_.get(), Gather(), kQuota);
  EXPECT_EQ(r.condition.reason, "DefragmentFailed");
  EXPECT_NE(r.condition.message.find("defragment c-1"), std::string::npos) << r.condition.message;
  EXPECT_EQ(maintenance_.Calls(),
            (std::vector<std::string>{"Compact 100", "Defragment " + ClientUrl(1)}));
  EXPECT_EQ(maintenance_.Alarms().size(), 1u);
}

TEST_F(RemedyTest, FailedDisarmIsReported) {
  maintenance_.RaiseAlarm({kId0, AlarmType::kNoSpace});
  maintenance_.FailNext("AlarmDisarm", Unavailable("timeout"));
  RemedyResult r = RemedyNoSpace(api_.get(), Gather(), kQuota);
  EXPECT_EQ(r.condition.reason, "DisarmFailed");
  EXPECT_EQ(r.condition.status, ConditionStatus::kFalse);
}

TEST_F(RemedyTest, UnreachableMemberIsSkippedAndNamed) {
  ASSERT_TRUE(runtime_.Stop("kv/c/" + Name(1), std::chrono::milliseconds(0)).ok());
  maintenance_.RaiseAlarm({kId0, AlarmType::kNoSpace});
  RemedyResult r = RemedyNoSpace(api_.get(), Gather(), kQuota);
  EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(maintenance_.Calls(),
            (std::vector<std::string>{"Compact 100", "Defragment " + ClientUrl(2),
                                      "Defragment " + ClientUrl(0), "AlarmDisarm NOSPACE 1000"}));
  EXPECT_EQ(Reasons(r), (std::vector<std::string>{"Compacted", "Defragmented", "Defragmented",
                                                  "DefragmentSkipped", "Disarmed"}));
  EXPECT_NE(r.events[3].message.find("c-1"), std::string::npos);
}

TEST_F(RemedyTest, DefragmentRepeatedWhileStillOverQuotaUpToTheLimit) {
  maintenance_.SetDefragmentedSize(kQuota);
  maintenance_.RaiseAlarm({kId0, AlarmType::kNoSpace});
  RemedyResult r = RemedyNoSpace(api_.get(), Gather(), kQuota);
  EXPECT_TRUE(r.status.ok());
  size_t defrags = 0;
  for (const auto& c : maintenance_.Calls()) defrags += c.rfind("Defragment", 0) == 0;
  EXPECT_EQ(defrags, 3u * kMaxDefragmentAttempts);
}

TEST_F(RemedyTest, DefragmentOnceWhenBelowQuota) {
  maintenance_.SetDefragmentedSize(kQuota - 1);
  maintenance_.RaiseAlarm({kId0, AlarmType::kNoSpace});
  RemedyResult r = RemedyNoSpace(api_.get(), Gather(), kQuota);
  size_t defrags = 0;
  for (const auto& c : maintenance_.Calls()) defrags += c.rfind("Defragment", 0) == 0;
  EXPECT_EQ(defrags, 3u);
}

TEST(NoSpaceRemedyAllowedTest, NotOnAWriteFencedFormerPrimary) {
  ResourceStatus status;
  EXPECT_TRUE(NoSpaceRemedyAllowed(status));
  status.mirror = {{"state", "Watching"}, {"writeFenced", false}};
  EXPECT_TRUE(NoSpaceRemedyAllowed(status));
  status.mirror["writeFenced"] = true;
  EXPECT_FALSE(NoSpaceRemedyAllowed(status));
}

}  // namespace
}  // namespace grid::mas::inspect
