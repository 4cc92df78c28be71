#include "router/health/health_index.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "router/health/health_monitor.h"
#include "router/health/test_util.h"
#include "router/table/table_builder.h"
#include "router/table/test_util.h"

namespace grid::router::health {
namespace {
using table::KeyChange;
using table::TableBuilder;
using table::testing::kPrefix;
using table::testing::SimpleCell;
using table::testing::Source;
using testing::FakeProber;
using testing::Ms;
using testing::T0;

constexpr char kChecks[] =
    R"("health_check": {"type": "http", "path": "/h", "interval_ms": 1000, "timeout_ms": 100,
                        "unhealthy_threshold": 1, "healthy_threshold": 1},
       "outlier_detection": {"consecutive_5xx": 1, "base_ejection_ms": 60000,
                             "max_ejection_ms": 600000, "max_ejected_percent": 50})";

KeyChange PutCell(const std::string& name, const std::string& json) {
  return {KeyChange::Op::kPut, std::string(kPrefix) + "/cells/" + name, json};
}

class HealthIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Source s;
    s.Cell("eu-1", SimpleCell(3, kChecks)).Cell("eu-2", SimpleCell(2));
    auto r = builder_.Reset(s.get(), 1);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    table_ = r.value();
  }
  std::shared_ptr<const table::RouteTable> Apply(const KeyChange& change) {
    auto r = builder_.Apply(std::span<const KeyChange>(&change, 1), 2);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r.value() : nullptr;
  }
  const table::BackendGroup& Group(const table::RouteTable& t, const char* cell) {
    return t.FindCell(cell)->group(0);
  }

  TableBuilder builder_{kPrefix};
  std::shared_ptr<const table::RouteTable> table_;
};

TEST_F(HealthIndexTest, OneStatePerGroup) {
  auto index = HealthIndex::Build(table_, nullptr);
  EXPECT_EQ(index->entries().size(), 2u);
  GroupHealth* eu1 = index->Find(Group(*table_, "eu-1"));
  ASSERT_NE(eu1, nullptr);
  EXPECT_EQ(eu1->table().size(), 3u);
  EXPECT_TRUE(eu1->outlier().config().enabled);
  EXPECT_FALSE(index->Find(Group(*table_, "eu-2"))->outlier().config().enabled);
}

TEST_F(HealthIndexTest, AnUnchangedCellKeepsItsState) {
  auto first = HealthIndex::Build(table_, nullptr);
  GroupHealth* eu1 = first->Find(Group(*table_, "eu-1"));
  ASSERT_TRUE(eu1->Record(0, PassiveOutcome::k5xx, T0()));
  auto next_table = Apply(PutCell("eu-2", SimpleCell(4)));
  auto second = HealthIndex::Build(next_table, first.get());
  EXPECT_EQ(second->Find(Group(*next_table, "eu-1")), eu1);  // the same object
  EXPECT_FALSE(second->Find(Group(*next_table, "eu-1"))->table().Available(0, T0()));
  EXPECT_EQ(second->Find(Group(*next_table, "eu-2"))->table().size(), 4u);
}

TEST_F(HealthIndexTest, AChangedCellCarriesStateOverByAddress) {
  auto first = HealthIndex::Build(table_, nullptr);
  GroupHealth* old = first->Find(Group(*table_, "eu-1"));
  ASSERT_TRUE(old->Record(1, PassiveOutcome::k5xx, T0()));  // 10.0.0.2 ejected
  old->table().SetActiveHealthy(2, false);                  // 10.0.0.3 actively down
  // The new config drops 10.0.0.1 and adds 10.0.0.9: 10.0.0.2 and 10.0.0.3 keep their state.
  auto next_table = Apply(PutCell("eu-1", R"({"backends": [{"address": "10.0.0.2:8080"},
      {"address": "10.0.0.3:8080"}, {"address": "10.0.0.9:8080"}], )" +
                                              std::string(kChecks) + "}"));
  auto second = HealthIndex::Build(next_table, first.get());
  const auto& e = second->entries();
  GroupHealth* now = second->Find(Group(*next_table, "eu-1"));
  ASSERT_NE(now, nullptr);
  EXPECT_NE(now, old);
  EXPECT_TRUE(std::any_of(e.begin(), e.end(), [](const auto& x) { return !x.reused; }));
  EXPECT_TRUE(now->table().Ejected(0, T0()));
  EXPECT_EQ(now->table().EjectedUntil(0), T0() + Ms(60000));
  EXPECT_EQ(now->outlier().history(0).times_ejected, 1u);
  EXPECT_FALSE(now->table().ActiveHealthy(1));
  EXPECT_TRUE(now->table().Available(2, T0()));
}

TEST_F(HealthIndexTest, DroppingActiveChecksDropsTheActiveState) {
  auto first = HealthIndex::Build(table_, nullptr);
  first->Find(Group(*table_, "eu-1"))->table().SetActiveHealthy(0, false);
  auto next_table = Apply(PutCell("eu-1", SimpleCell(3)));
  auto second = HealthIndex::Build(next_table, first.get());
  EXPECT_TRUE(second->Find(Group(*next_table, "eu-1"))->table().ActiveHealthy(0));
}

TEST_F(HealthIndexTest, AGroupOfAnotherTableIsNotFound) {
  auto index = HealthIndex::Build(table_, nullptr);
  auto other = table::testing::MustBuild(Source().Cell("eu-1", SimpleCell(3)).get());
  EXPECT_EQ(index->Find(Group(*other, "eu-1")), nullptr);
}

TEST_F(HealthIndexTest, MonitorChecksCellsWithAHealthCheck) {
  FakeProber prober;
  HealthMonitor monitor(prober, 7);
  auto index = monitor.Update(table_, T0());
  EXPECT_EQ(monitor.checker_count(), 1u);  // eu-1 only
  ASSERT_TRUE(monitor.NextDue().has_value());
  EXPECT_LT(*monitor.NextDue(), T0() + Ms(1000));
  EXPECT_EQ(monitor.Tick(T0() + Ms(1000)), 3u);
  prober.Finish(ProbeOutcome::kOk, 500, T0() + Ms(1000));
  // Threshold 1: that probe's backend is down now.
  EXPECT_EQ(index->Find(Group(*table_, "eu-1"))->table().AvailableCount(T0() + Ms(1000)), 2u);

  // An unrelated change keeps the checker (the two probes in flight still count).
  auto t2 = Apply(PutCell("eu-2", SimpleCell(3)));
  auto index2 = monitor.Update(t2, T0() + Ms(1001));
  EXPECT_EQ(monitor.checker_count(), 1u);
  prober.Finish(ProbeOutcome::kOk, 500, T0() + Ms(1002));
  EXPECT_EQ(index2->Find(Group(*t2, "eu-1"))->table().AvailableCount(T0() + Ms(1002)), 1u);

  // Turning checks on in eu-2 adds a checker; removing eu-1's removes its checker, and its
  // last probe reports to nobody.
  auto t3 = Apply(PutCell("eu-2", SimpleCell(3, kChecks)));
  monitor.Update(t3, T0() + Ms(1003));
  EXPECT_EQ(monitor.checker_count(), 2u);
  auto t4 = Apply(PutCell("eu-1", SimpleCell(3)));
  auto index4 = monitor.Update(t4, T0() + Ms(1004));
  EXPECT_EQ(monitor.checker_count(), 1u);
  prober.Finish(ProbeOutcome::kConnectFailed, 0, T0() + Ms(1005));
  EXPECT_EQ(index4->Find(Group(*t4, "eu-1"))->table().AvailableCount(T0() + Ms(1005)), 3u);
}

}  // namespace
}  // namespace grid::router::health
