#include "mas/kvcluster/operation.h"

#include <gtest/gtest.h>

#include "mas/resource/resource.h"

namespace grid::mas::kvcluster {
namespace {

TEST(KVClusterOperation, JsonRoundTrip) {
  Operation op;
  op.name = kOpRollingUpgrade;
  op.target = "3.5.0";
  op.from = "3.4.0";
  op.member = "c-1";
  op.member_started = "2026-01-02T03:04:05Z";
  op.started = "2026-01-02T03:04:00Z";
  RecordStep(&op, "StopMember c-1", "2026-01-02T03:04:05Z", "ok");
  auto back = OperationFromJson(OperationToJson(op));
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_TRUE(back->has_value());
  EXPECT_EQ(**back, op);
  EXPECT_EQ(op.step, 1);
}

TEST(KVClusterOperation, EndedAs) {
  Operation up;
  up.name = kOpRollingUpgrade;
  up.started = "2026-01-02T03:04:00Z";
  Operation same = up;
  RecordStep(&same, "StopMember c-1", "2026-01-02T03:04:05Z", "ok");
  Operation rollback;
  rollback.name = kOpRollback;
  rollback.started = "2026-01-02T03:05:00Z";
  Operation again = up;
  again.started = "2026-01-02T03:06:00Z";
  EXPECT_EQ(EndedAs(std::nullopt, up, Phase::kUpdate), std::nullopt);
  EXPECT_EQ(EndedAs(up, same, Phase::kUpdate), std::nullopt);
  EXPECT_EQ(EndedAs(up, same, Phase::kFailed), std::nullopt);
  EXPECT_EQ(EndedAs(up, rollback, Phase::kRollback), OperationResult::kRolledBack);
  EXPECT_EQ(EndedAs(rollback, std::nullopt, Phase::kRun), OperationResult::kSucceeded);
  EXPECT_EQ(EndedAs(up, std::nullopt, Phase::kRun), OperationResult::kSucceeded);
  EXPECT_EQ(EndedAs(up, std::nullopt, Phase::kFailed), OperationResult::kFailed);
  EXPECT_EQ(EndedAs(up, again, Phase::kUpdate), OperationResult::kSuperseded);
  EXPECT_EQ(EndedAs(rollback, up, Phase::kUpdate), OperationResult::kSuperseded);
}

TEST(KVClusterOperation, ToHistoryKeepsTheSteps) {
  Operation op;
  op.name = kOpScaleOut;
  op.started = "2026-01-02T03:04:00Z";
  RecordStep(&op, "PlanMembers c-3", "2026-01-02T03:04:00Z", "ok");
  RecordStep(&op, "AddLearner c-3", "2026-01-02T03:04:01Z", "Unavailable: no leader");
  const OperationRecord rec = ToHistory(op, OperationResult::kSucceeded, "2026-01-02T03:04:09Z");
  EXPECT_EQ(rec, (OperationRecord{kOpScaleOut, OperationResult::kSucceeded, "2026-01-02T03:04:00Z",
                                  "2026-01-02T03:04:09Z",
                                  {{"PlanMembers c-3", "2026-01-02T03:04:00Z", "ok"},
                                   {"AddLearner c-3", "2026-01-02T03:04:01Z",
                                    "Unavailable: no leader"}}}));
  static_assert(kMaxOperationSteps <= kMaxHistorySteps, "a record keeps every recorded step");
}

TEST(KVClusterOperation, NullIsNone) {
  auto none = OperationFromJson(nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(KVClusterOperation, MalformedNamesField) {
  auto bad = OperationFromJson({{"name", "ScaleOut"}, {"step", "x"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("status.operation.step"), std::string::npos);
  EXPECT_FALSE(OperationFromJson(nlohmann::json::object()).ok());
}

TEST(KVClusterOperation, StepsKeepTheLastLimit) {
  Operation op;
  op.name = kOpScaleOut;
  for (size_t i = 0; i < kMaxOperationSteps + 3; ++i) {
    RecordStep(&op, "s" + std::to_string(i), "t", std::string(kMaxStepResultBytes + 10, 'x'));
  }
  ASSERT_EQ(op.steps.size(), kMaxOperationSteps);
  EXPECT_EQ(op.steps.front().step, "s3");
  EXPECT_EQ(op.steps.back().step, "s" + std::to_string(kMaxOperationSteps + 2));
  EXPECT_EQ(op.steps.back().result.size(), kMaxStepResultBytes);
  EXPECT_EQ(op.step, static_cast<int64_t>(kMaxOperationSteps + 3));
}

TEST(KVClusterOperation, TimestampRoundTrip) {
  const TimePoint t = std::chrono::system_clock::from_time_t(1'800'000'123);
  auto back = ParseTimestamp(FormatTimestamp(t));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, t);
  EXPECT_FALSE(ParseTimestamp("2026-01-02 03:04:05").has_value());
  EXPECT_FALSE(ParseTimestamp("").has_value());
}

TEST(KVClusterOperation, MemberIdHex) {
  EXPECT_EQ(MemberIdHex(0x8e9e05c52164694dULL), "8e9e05c52164694d");
  EXPECT_EQ(ParseMemberIdHex("8e9e05c52164694d"), 0x8e9e05c52164694dULL);
  EXPECT_FALSE(ParseMemberIdHex("").has_value());
  EXPECT_FALSE(ParseMemberIdHex("xyz").has_value());
  EXPECT_FALSE(ParseMemberIdHex("11112222333344445").has_value());
}

}  // namespace
}  // namespace grid::mas::kvcluster
