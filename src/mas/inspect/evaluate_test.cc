#include "mas/inspect/evaluate.h"

#include <functional>

#include <gtest/gtest.h>

namespace grid::mas::inspect {
namespace {

using kvcluster::AlarmInfo;
using kvcluster::AlarmType;

constexpr int64_t kQuota = int64_t{100} << 20;

MemberProbe Member(const std::string& name, uint64_t id) {
  MemberProbe p;
  p.name = name;
  p.endpoint = "http://127.0.0.1:" + std::to_string(2000 + id);
  p.reachable = true;
  p.status.member_id = id;
  p.status.leader_id = 1;
  p.status.raft_index = 5000;
  p.status.applied_index = 5000;
  p.status.db_size_bytes = 1 << 20;
  p.current_revision = 42;
  p.hash = 0xabcd;
  return p;
}

// A healthy 3-member cluster; member "m1" (id 1) leads.
Probes Healthy3() {
  Probes p;
  p.time = "2026-01-01T00:00:00Z";
  p.members = {Member("m1", 1), Member("m2", 2), Member("m3", 3)};
  p.alarms_known = true;
  p.hash_revision = 42;
  return p;
}

struct Case {
  std::string name;
  std::function<void(Probes*)> mutate;
  std::string type;
  ConditionStatus want;
  std::string reason;
  std::vector<std::string> message_contains;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class EvaluateTest : public ::testing::TestWithParam<Case> {};

TEST_P(EvaluateTest, Condition) {
  const Case& c = GetParam();
  KVClusterSpec spec;
  spec.quota_backend_bytes = kQuota;
  ResourceStatus status;
  Probes probes = Healthy3();
  if (c.mutate) c.mutate(&probes);
  InspectionReport report = Evaluate(spec, status, probes);
  const Condition* cond = FindReportCondition(report, c.type);
  ASSERT_NE(cond, nullptr) << c.type;
  EXPECT_EQ(cond->status, c.want) << cond->message;
  EXPECT_EQ(cond->reason, c.reason) << cond->message;
  for (const std::string& part : c.message_contains) {
    EXPECT_NE(cond->message.find(part), std::string::npos) << cond->message << " lacks " << part;
  }
  EXPECT_EQ(report.conditions.size(), 6u);
  EXPECT_LE(report.events.size(), kMaxInspectionEvents);
}

INSTANTIATE_TEST_SUITE_P(
    Table, EvaluateTest,
    ::testing::Values(
        Case{"healthy", nullptr, kCondHealthy, ConditionStatus::kTrue, "AllEndpointsAnswer", {"3 of 3"}},
        Case{"one_down", [](Probes* p) { p->members[2].reachable = false; p->members[2].error = "refused"; },
             kCondHealthy, ConditionStatus::kFalse, "EndpointsUnreachable", {"m3 (refused)", "1 of 3"}},
        Case{"no_members", [](Probes* p) { p->members.clear(); }, kCondHealthy,
             ConditionStatus::kUnknown, "NoMembers", {}},
        Case{"leader", nullptr, kCondLeaderPresent, ConditionStatus::kTrue, "LeaderElected", {"m1"}},
        Case{"no_leader",
             [](Probes* p) { for (auto& m : p->members) m.status.leader_id = 0; },
             kCondLeaderPresent, ConditionStatus::kFalse, "NoLeader", {}},
        Case{"leader_split", [](Probes* p) { p->members[2].status.leader_id = 3; },
             kCondLeaderPresent, ConditionStatus::kFalse, "LeaderDisagreement", {"m3 see 3"}},
        Case{"leader_all_down",
             [](Probes* p) { for (auto& m : p->members) m.reachable = false; },
             kCondLeaderPresent, ConditionStatus::kUnknown, "NoAnswer", {}},
        Case{"lag_at_bound",
             [](Probes* p) { p->members[1].status.applied_index = 5000 - kMaxAppliedIndexLag; },
             kCondAppliedIndexLag, ConditionStatus::kTrue, "WithinBound", {"m2"}},
        Case{"lag_over_bound",
             [](Probes* p) { p->members[1].status.applied_index = 5000 - kMaxAppliedIndexLag - 1; },
             kCondAppliedIndexLag, ConditionStatus::kFalse, "OverBound", {"m2", "1001"}},
        Case{"lag_ignores_unreachable",
             [](Probes* p) { p->members[1].status.applied_index = 0; p->members[1].reachable = false; },
             kCondAppliedIndexLag, ConditionStatus::kTrue, "WithinBound", {}},
        Case{"hashes_equal", nullptr, kCondHashAgreement, ConditionStatus::kTrue, "HashesEqual",
             {"revision 42"}},
        Case{"hash_mismatch", [](Probes* p) { p->members[1].hash = 0x1111; },
             kCondHashAgreement, ConditionStatus::kFalse, "HashMismatch",
             {"members m2 disagree at revision 42"}},
        Case{"hash_missing",
             [](Probes* p) { p->members[0].hash.reset(); p->members[0].hash_error = "compacted"; },
             kCondHashAgreement, ConditionStatus::kUnknown, "HashUnavailable", {"m1 (compacted)"}},
        Case{"no_alarms", nullptr, kCondAlarms, ConditionStatus::kTrue, "NoAlarms", {}},
        Case{"nospace",
             [](Probes* p) { p->alarms = {AlarmInfo{2, AlarmType::kNoSpace}}; },
             kCondAlarms, ConditionStatus::kFalse, "NoSpace", {"NOSPACE on m2"}},
        Case{"corrupt_and_nospace",
             [](Probes* p) {
               p->alarms = {AlarmInfo{1, AlarmType::kNoSpace}, AlarmInfo{3, AlarmType::kCorrupt}};
             },
             kCondAlarms, ConditionStatus::kFalse, "CorruptAndNoSpace",
             {"NOSPACE on m1", "CORRUPT on m3"}},
        Case{"alarm_unknown_member",
             [](Probes* p) { p->alarms = {AlarmInfo{0xff, AlarmType::kCorrupt}}; },
             kCondAlarms, ConditionStatus::kFalse, "Corrupt", {"CORRUPT on ff"}},
        Case{"alarm_list_failed",
             [](Probes* p) { p->alarms_known = false; p->alarms_error = "timeout"; },
             kCondAlarms, ConditionStatus::kUnknown, "AlarmListFailed", {"timeout"}},
        Case{"db_small", nullptr, kCondDbSize, ConditionStatus::kTrue, "BelowWarning", {"1 %"}},
        Case{"db_just_below_warning",
             [](Probes* p) { p->members[2].status.db_size_bytes = kQuota * kDbSizeWarnPercent / 100 - 1; },
             kCondDbSize, ConditionStatus::kTrue, "BelowWarning", {"m3"}},
        Case{"db_at_warning",
             [](Probes* p) { p->members[2].status.db_size_bytes = kQuota * kDbSizeWarnPercent / 100; },
             kCondDbSize, ConditionStatus::kFalse, "NearQuota", {"m3", "80 %"}},
        Case{"db_unknown",
             [](Probes* p) { for (auto& m : p->members) m.reachable = false; },
             kCondDbSize, ConditionStatus::kUnknown, "NoAnswer", {}}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(Evaluate, DefaultQuotaWhenSpecHasNone) {
  Probes probes = Healthy3();
  probes.members[0].status.db_size_bytes = kDefaultQuotaBackendBytes;
  InspectionReport r = Evaluate(KVClusterSpec{}, ResourceStatus{}, probes);
  EXPECT_EQ(FindReportCondition(r, kCondDbSize)->status, ConditionStatus::kFalse);
}

TEST(Evaluate, AlarmMemberNamedFromStatusWhenUnreachable) {
  Probes probes = Healthy3();
  probes.members[1].reachable = false;
  probes.alarms = {AlarmInfo{2, AlarmType::kNoSpace}};
  ResourceStatus status;
  status.members = {MemberStatus{"m2", "2", "", "", "", false}};
  InspectionReport r = Evaluate(KVClusterSpec{}, status, probes);
  EXPECT_NE(FindReportCondition(r, kCondAlarms)->message.find("NOSPACE on m2"), std::string::npos);
}

TEST(Evaluate, HealthyRunHasOneNormalEvent) {
  InspectionReport r = Evaluate(KVClusterSpec{}, ResourceStatus{}, Healthy3());
  ASSERT_EQ(r.events.size(), 1u);
  EXPECT_EQ(r.events[0].type, "Normal");
  EXPECT_EQ(r.events[0].time, "2026-01-01T00:00:00Z");
}

TEST(Evaluate, EachFailingCheckIsAWarningEvent) {
  Probes probes = Healthy3();
  probes.members[1].hash = 1;
  probes.alarms = {AlarmInfo{1, AlarmType::kNoSpace}};
  InspectionReport r = Evaluate(KVClusterSpec{}, ResourceStatus{}, probes);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].reason, "HashMismatch");
  EXPECT_EQ(r.events[1].reason, "NoSpace");
  EXPECT_EQ(r.events[1].type, "Warning");
}

TEST(AppendEvent, KeepsTheNewestAtTheLimit) {
  std::vector<InspectionEvent> events;
  for (size_t i = 0; i < kMaxInspectionEvents + 5; ++i) {
    AppendEvent(&events, {"t", "Normal", "R" + std::to_string(i), std::string(kMaxEventMessageBytes + 10, 'x')});
  }
  ASSERT_EQ(events.size(), kMaxInspectionEvents);
  EXPECT_EQ(events.front().reason, "R5");
  EXPECT_EQ(events.back().reason, "R" + std::to_string(kMaxInspectionEvents + 4));
  EXPECT_EQ(events.back().message.size(), kMaxEventMessageBytes);
}

TEST(ReportJson, RoundTripsEvents) {
  Probes probes = Healthy3();
  probes.members[2].reachable = false;
  probes.members[2].error = "down";
  InspectionReport r = Evaluate(KVClusterSpec{}, ResourceStatus{}, probes);
  nlohmann::json j = ReportToJson("c", r);
  EXPECT_EQ(j["cluster"], "c");
  EXPECT_EQ(j["hashRevision"], 42);
  EXPECT_EQ(j["members"].size(), 3u);
  EXPECT_EQ(j["members"][2]["error"], "down");
  EXPECT_EQ(j["conditions"].size(), 6u);
  EXPECT_EQ(EventsFromJson(j), r.events);
  EXPECT_TRUE(EventsFromJson(nlohmann::json("junk")).empty());
}

}  // namespace
}  // namespace grid::mas::inspect
