// OperationMetrics: durations of newly finished operations only (baseline at first sight),
// the running gauge following status.operation, forgetting deleted objects.
#include "mas/metrics/operation_metrics.h"

#include <gtest/gtest.h>

namespace grid::mas::metrics {
namespace {

Resource Cluster(const std::string& name) {
  Resource r;
  r.metadata.name = name;
  r.spec = KVClusterSpec{};
  return r;
}

OperationRecord Finished(const std::string& name, const std::string& started,
                         const std::string& finished, OperationResult result) {
  OperationRecord rec;
  rec.name = name;
  rec.started = started;
  rec.finished = finished;
  rec.result = result;
  return rec;
}

TEST(OperationMetricsTest, CountsOnlyOperationsFinishedAfterTheFirstSight) {
  Registry registry;
  OperationMetrics m(&registry);
  Resource r = Cluster("a");
  r.status.history.push_back(Finished("Scale", "2026-01-01T00:00:00Z", "2026-01-01T00:00:30Z",
                                      OperationResult::kSucceeded));
  m.Observe(r);  // baseline: the old Scale is not counted
  Family& d = registry.Histogram("grid_mas_operation_duration_seconds", "",
                                 {"kind", "operation", "result"},
                                 std::vector<double>(std::begin(kOperationSecondsBuckets),
                                                     std::end(kOperationSecondsBuckets)));
  EXPECT_EQ(d.Value({"KVCluster", "Scale", "Succeeded"}), 0);

  r.status.operation = {{"name", "Restore"}, {"step", "Fetch"}};
  m.Observe(r);
  Family& running = registry.Gauge("grid_mas_operations_running", "", {"kind", "operation"});
  EXPECT_EQ(running.Value({"KVCluster", "Restore"}), 1);

  r.status.operation = nullptr;
  r.status.history.push_back(Finished("Restore", "2026-01-01T01:00:00Z", "2026-01-01T01:00:42Z",
                                      OperationResult::kSucceeded));
  m.Observe(r);
  m.Observe(r);  // the same version again: counted once
  EXPECT_EQ(d.Value({"KVCluster", "Restore", "Succeeded"}), 1);
  EXPECT_EQ(running.Value({"KVCluster", "Restore"}), 0);
  const std::string text = registry.Render();
  EXPECT_NE(text.find("grid_mas_operation_duration_seconds_sum{kind=\"KVCluster\",operation="
                      "\"Restore\",result=\"Succeeded\"} 42\n"),
            std::string::npos)
      << text;
}

TEST(OperationMetricsTest, ForgetDropsTheRunningOperation) {
  Registry registry;
  OperationMetrics m(&registry);
  Resource r = Cluster("a");
  r.status.operation = {{"name", "RollingUpgrade"}};
  m.Observe(r);
  Resource b = Cluster("b");
  b.status.operation = {{"name", "RollingUpgrade"}};
  m.Observe(b);
  Family& running = registry.Gauge("grid_mas_operations_running", "", {"kind", "operation"});
  EXPECT_EQ(running.Value({"KVCluster", "RollingUpgrade"}), 2);
  m.Forget(Kind::kKVCluster, "a");
  EXPECT_EQ(running.Value({"KVCluster", "RollingUpgrade"}), 1);
  m.Forget(Kind::kKVCluster, "a");  // twice: no effect
  EXPECT_EQ(running.Value({"KVCluster", "RollingUpgrade"}), 1);
}

TEST(OperationMetricsTest, TrackedObjectsAreBounded) {
  Registry registry;
  OperationMetrics m(&registry);
  for (size_t i = 0; i < kMaxTrackedObjects; ++i) m.Observe(Cluster("c" + std::to_string(i)));
  EXPECT_EQ(m.dropped_objects(), 0u);
  m.Observe(Cluster("one-more"));
  EXPECT_EQ(m.dropped_objects(), 1u);
}

TEST(OperationMetricsTest, SecondsBetweenParsesRfc3339Utc) {
  EXPECT_EQ(SecondsBetween("2026-01-01T00:00:00Z", "2026-01-01T01:00:01Z"), 3601);
  EXPECT_FALSE(SecondsBetween("2026-01-01T00:00:01Z", "2026-01-01T00:00:00Z"));
  EXPECT_FALSE(SecondsBetween("yesterday", "2026-01-01T00:00:00Z"));
  EXPECT_FALSE(SecondsBetween("2026-01-01T00:00:00+01:00", "2026-01-01T00:00:00Z"));
}

}  // namespace
}  // namespace grid::mas::metrics
