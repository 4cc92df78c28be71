// A small thread-safe registry of Prometheus series for gridmas (text exposition format
// 0.0.4): gauges, counters and histograms, each family with a fixed HELP text and a fixed
// set of label names, series told apart by label values.
//
//   metrics::Registry r;
//   r.Counter("grid_mas_reconciles_total", "Reconcile passes.", {"kind", "result"})
//       .Add({"KVCluster", "ok"});
//   r.Gauge("grid_mas_mirror_lag_revisions", "...", {"cluster"}).Set({"main"}, 3);
//   r.Histogram("grid_mas_operation_seconds", "...", {"kind"}, {1, 10, 60})
//       .Observe({"Restore"}, 4.2);
//   std::string text = r.Render();
//
// Families are created once and live as long as the registry (references stay valid);
// asking again for a name returns the same family (a different type, label set or bucket
// list is a bug and crashes). Series per family are bounded by kMaxSeriesPerFamily: beyond
// it new series are dropped and counted in grid_mas_metrics_dropped_series_total.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace grid::mas::metrics {

inline constexpr size_t kMaxFamilies = 128;
inline constexpr size_t kMaxSeriesPerFamily = 1024;
inline constexpr size_t kMaxHistogramBuckets = 32;

using LabelValues = std::vector<std::string>;

class Registry;

class Family {
 public:
  enum class Type { kGauge, kCounter, kHistogram };

  // Gauge: the value. REQUIRES: type kGauge, values.size() == label names.
  void Set(const LabelValues& values, double value);
  // Counter: += delta (delta >= 0). REQUIRES: type kCounter.
  void Add(const LabelValues& values, double delta = 1);
  // Histogram: one observation. REQUIRES: type kHistogram.
  void Observe(const LabelValues& values, double value);
  // Forgets one series (e.g. of a deleted cluster); no-op when absent.
  void Remove(const LabelValues& values);
  // The current value of a gauge or counter series, or a histogram's count; 0 when absent.
  double Value(const LabelValues& values) const;

 private:
  friend class Registry;
  struct Series {
    double value = 0;              // gauge / counter; histogram: sum
    uint64_t count = 0;            // histogram
    std::vector<uint64_t> bucket;  // histogram: cumulative counts per upper bound
  };
  Family(std::string name, std::string help, Type type, std::vector<std::string> labels,
         std::vector<double> bounds, Registry* owner);
  // Returns nullptr when the family is full (and counts the drop). REQUIRES: mu_ held.
  Series* Find(const LabelValues& values);
  void Render(std::string* out) const;

  const std::string name_;
  const std::string help_;
  const Type type_;
  const std::vector<std::string> labels_;
  const std::vector<double> bounds_;
  Registry* const owner_;
  mutable std::mutex mu_;
  std::map<LabelValues, Series> series_;  // guarded by mu_
};

class Registry {
 public:
  Family& Gauge(std::string_view name, std::string_view help, std::vector<std::string> labels);
  Family& Counter(std::string_view name, std::string_view help, std::vector<std::string> labels);
  // `bounds`: strictly increasing upper bounds, 1..kMaxHistogramBuckets (+Inf is implied).
  Family& Histogram(std::string_view name, std::string_view help,
                    std::vector<std::string> labels, std::vector<double> bounds);
  // Every family, sorted by name, series sorted by label values.
  std::string Render() const;
  uint64_t dropped_series() const;

 private:
  friend class Family;
  Family& Get(std::string_view name, std::string_view help, Family::Type type,
              std::vector<std::string> labels, std::vector<double> bounds);
  void CountDrop();

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<Family>, std::less<>> families_;  // guarded by mu_
  uint64_t dropped_series_ = 0;                                           // guarded by mu_
};

// Prometheus label value escaping (backslash, double quote, newline).
std::string EscapeLabelValue(std::string_view value);

}  // namespace grid::mas::metrics
