// metrics::Registry: exposition text of each type, label escaping, the series limit.
#include "mas/metrics/registry.h"

#include <gtest/gtest.h>

namespace grid::mas::metrics {
namespace {

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(RegistryTest, RendersGaugesCountersAndHistograms) {
  Registry r;
  r.Gauge("grid_mas_mirror_lag_revisions", "Revisions behind.", {"cluster"}).Set({"main"}, 7);
  auto& c = r.Counter("grid_mas_reconciles_total", "Passes.", {"kind", "result"});
  c.Add({"KVCluster", "ok"});
  c.Add({"KVCluster", "ok"}, 2);
  auto& h = r.Histogram("grid_mas_operation_seconds", "Durations.", {"kind"}, {1, 10});
  h.Observe({"Restore"}, 0.5);
  h.Observe({"Restore"}, 4);
  h.Observe({"Restore"}, 100);
  const std::string text = r.Render();
  EXPECT_TRUE(Has(text, "# TYPE grid_mas_mirror_lag_revisions gauge")) << text;
  EXPECT_TRUE(Has(text, "grid_mas_mirror_lag_revisions{cluster=\"main\"} 7")) << text;
  EXPECT_TRUE(Has(text, "grid_mas_reconciles_total{kind=\"KVCluster\",result=\"ok\"} 3"));
  EXPECT_TRUE(Has(text, "grid_mas_operation_seconds_bucket{kind=\"Restore\",le=\"1\"} 1"));
  EXPECT_TRUE(Has(text, "grid_mas_operation_seconds_bucket{kind=\"Restore\",le=\"10\"} 2"));
  EXPECT_TRUE(Has(text, "grid_mas_operation_seconds_bucket{kind=\"Restore\",le=\"+Inf\"} 3"));
  EXPECT_TRUE(Has(text, "grid_mas_operation_seconds_sum{kind=\"Restore\"} 104.5"));
  EXPECT_TRUE(Has(text, "grid_mas_operation_seconds_count{kind=\"Restore\"} 3"));
  EXPECT_EQ(c.Value({"KVCluster", "ok"}), 3);
  EXPECT_EQ(h.Value({"Restore"}), 3);
}

TEST(RegistryTest, SameNameIsTheSameFamilyAndRemoveForgetsASeries) {
  Registry r;
  Family& a = r.Gauge("g", "h", {"cluster"});
  Family& b = r.Gauge("g", "h", {"cluster"});
  EXPECT_EQ(&a, &b);
  a.Set({"x"}, 1);
  a.Remove({"x"});
  EXPECT_EQ(r.Render().find("g{cluster=\"x\"}"), std::string::npos);
}

TEST(RegistryTest, EscapesLabelValues) {
  Registry r;
  r.Gauge("g", "h", {"cluster"}).Set({"a\"b\\c\nd"}, 1);
  EXPECT_TRUE(Has(r.Render(), "g{cluster=\"a\\\"b\\\\c\\nd\"} 1"));
}

TEST(RegistryTest, SeriesLimitAtAndBeyond) {
  Registry r;
  Family& g = r.Gauge("g", "h", {"i"});
  for (size_t i = 0; i < kMaxSeriesPerFamily; ++i) g.Set({std::to_string(i)}, 1);
  EXPECT_EQ(r.dropped_series(), 0u);
  g.Set({"one-more"}, 1);
  EXPECT_EQ(r.dropped_series(), 1u);
  EXPECT_EQ(g.Value({"one-more"}), 0);
  g.Set({"0"}, 5);  // an existing series still updates
  EXPECT_EQ(g.Value({"0"}), 5);
  EXPECT_TRUE(Has(r.Render(), "grid_mas_metrics_dropped_series_total 1"));
}

}  // namespace
}  // namespace grid::mas::metrics
