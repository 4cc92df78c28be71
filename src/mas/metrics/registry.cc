#include "mas/metrics/registry.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "common/check.h"

namespace grid::mas::metrics {
namespace {

const char* TypeName(Family::Type type) {
  switch (type) {
    case Family::Type::kGauge:
      return "gauge";
    case Family::Type::kCounter:
      return "counter";
    case Family::Type::kHistogram:
      return "histogram";
  }
  return "untyped";
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

std::string Labels(const std::vector<std::string>& names, const LabelValues& values,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!out.empty()) out += ',';
    out += names[i] + "=\"" + EscapeLabelValue(values[i]) + "\"";
  }
  if (!extra_name.empty()) {
    if (!out.empty()) out += ',';
    out += std::string(extra_name) + "=\"" + std::string(extra_value) + "\"";
  }
  return out.empty() ? "" : "{" + out + "}";
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Family::Family(std::string name, std::string help, Type type, std::vector<std::string> labels,
               std::vector<double> bounds, Registry* owner)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      labels_(std::move(labels)),
      bounds_(std::move(bounds)),
      owner_(owner) {}

Family::Series* Family::Find(const LabelValues& values) {
  GRID_CHECK(values.size() == labels_.size());
  auto it = series_.find(values);
  if (it != series_.end()) return &it->second;
  if (series_.size() >= kMaxSeriesPerFamily) {
    owner_->CountDrop();
    return nullptr;
  }
  Series s;
  s.bucket.assign(bounds_.size(), 0);
  return &series_.emplace(values, std::move(s)).first->second;
}

void Family::Set(const LabelValues& values, double value) {
  GRID_CHECK(type_ == Type::kGauge);
  std::lock_guard lock(mu_);
  if (Series* s = Find(values)) s->value = value;
}

void Family::Add(const LabelValues& values, double delta) {
  GRID_CHECK(type_ == Type::kCounter);
  GRID_CHECK(delta >= 0);
  std::lock_guard lock(mu_);
  if (Series* s = Find(values)) s->value += delta;
}

void Family::Observe(const LabelValues& values, double value) {
  GRID_CHECK(type_ == Type::kHistogram);
  std::lock_guard lock(mu_);
  Series* s = Find(values);
  if (s == nullptr) return;
  s->value += value;
  ++s->count;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (value <= bounds_[i]) ++s->bucket[i];
  }
}

void Family::Remove(const LabelValues& values) {
  std::lock_guard lock(mu_);
  series_.erase(values);
}

double Family::Value(const LabelValues& values) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(values);
  if (it == series_.end()) return 0;
  return type_ == Type::kHistogram ? static_cast<double>(it->second.count) : it->second.value;
}

void Family::Render(std::string* out) const {
  std::lock_guard lock(mu_);
  *out += "# HELP " + name_ + " " + help_ + "\n# TYPE " + name_ + " " + TypeName(type_) + "\n";
  for (const auto& [values, s] : series_) {
    if (type_ != Type::kHistogram) {
      *out += name_ + Labels(labels_, values) + " " + Number(s.value) + "\n";
      continue;
    }
    for (size_t i = 0; i < bounds_.size(); ++i) {
      *out += name_ + "_bucket" + Labels(labels_, values, "le", Number(bounds_[i])) + " " +
              std::to_string(s.bucket[i]) + "\n";
    }
    *out += name_ + "_bucket" + Labels(labels_, values, "le", "+Inf") + " " +
            std::to_string(s.count) + "\n";
    *out += name_ + "_sum" + Labels(labels_, values) + " " + Number(s.value) + "\n";
    *out += name_ + "_count" + Labels(labels_, values) + " " + std::to_string(s.count) + "\n";
  }
}

Family& Registry::Get(std::string_view name, std::string_view help, Family::Type type,
                      std::vector<std::string> labels, std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) {
    Family& f = *it->second;
    GRID_CHECK(f.type_ == type && f.labels_ == labels && f.bounds_ == bounds);
    return f;
  }
  GRID_CHECK(families_.size() < kMaxFamilies);
  auto family = std::unique_ptr<Family>(new Family(std::string(name), std::string(help), type,
                                                   std::move(labels), std::move(bounds), this));
  Family& ref = *family;
  families_.emplace(std::string(name), std::move(family));
  return ref;
}

Family& Registry::Gauge(std::string_view name, std::string_view help,
                        std::vector<std::string> labels) {
  return Get(name, help, Family::Type::kGauge, std::move(labels), {});
}

Family& Registry::Counter(std::string_view name, std::string_view help,
                          std::vector<std::string> labels) {
  return Get(name, help, Family::Type::kCounter, std::move(labels), {});
}

Family& Registry::Histogram(std::string_view name, std::string_view help,
                            std::vector<std::string> labels, std::vector<double> bounds) {
  GRID_CHECK(!bounds.empty() && bounds.size() <= kMaxHistogramBuckets);
  GRID_CHECK(std::is_sorted(bounds.begin(), bounds.end()) &&
             std::adjacent_find(bounds.begin(), bounds.end()) == bounds.end());
  return Get(name, help, Family::Type::kHistogram, std::move(labels), std::move(bounds));
}

void Registry::CountDrop() {
  std::lock_guard lock(mu_);
  ++dropped_series_;
}

uint64_t Registry::dropped_series() const {
  std::lock_guard lock(mu_);
  return dropped_series_;
}

std::string Registry::Render() const {
  std::vector<const Family*> families;
  uint64_t dropped = 0;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, f] : families_) families.push_back(f.get());
    dropped = dropped_series_;
  }
  std::string out;
  for (const Family* f : families) f->Render(&out);
  out += "# HELP grid_mas_metrics_dropped_series_total Series not recorded because their "
         "family was full.\n# TYPE grid_mas_metrics_dropped_series_total counter\n"
         "grid_mas_metrics_dropped_series_total " + std::to_string(dropped) + "\n";
  return out;
}

}  // namespace grid::mas::metrics
