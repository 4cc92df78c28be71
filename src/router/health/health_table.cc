#include "router/health/health_table.h"

#include <chrono>

#include "common/check.h"

namespace grid::router::health {
namespace {

int64_t ToNs(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

}  // namespace

HealthTable::HealthTable(size_t backends)
    : size_(backends), backends_(std::make_unique<Backend[]>(backends)) {
  GRID_CHECK(backends >= 1 && backends <= kMaxBackendsPerGroup) << "backends = " << backends;
}

const HealthTable::Backend& HealthTable::at(size_t backend) const {
  GRID_CHECK_LT(backend, size_);
  return backends_[backend];
}

bool HealthTable::ActiveHealthy(size_t backend) const {
  return at(backend).active_healthy.load(std::memory_order_acquire);
}

bool HealthTable::Ejected(size_t backend, TimePoint now) const {
  return ToNs(now) < at(backend).ejected_until_ns.load(std::memory_order_acquire);
}

bool HealthTable::InService(size_t backend, TimePoint now) const {
  return ActiveHealthy(backend) && !Ejected(backend, now);
}

bool HealthTable::Available(size_t backend, TimePoint now) const {
  if (!ActiveHealthy(backend)) return false;
  if (!Ejected(backend, now)) return true;
  for (size_t i = 0; i < size_; ++i) {
    if (InService(i, now)) return false;
  }
  return true;  // nothing is in service: ejections are ignored
}

TimePoint HealthTable::EjectedUntil(size_t backend) const {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(
      std::chrono::nanoseconds(at(backend).ejected_until_ns.load(std::memory_order_acquire))));
}

void HealthTable::Fill(std::span<balance::BackendState> out, TimePoint now) const {
  GRID_CHECK_EQ(out.size(), size_);
  const int64_t now_ns = ToNs(now);
  bool any = false;
  for (size_t i = 0; i < size_; ++i) {
    const Backend& b = backends_[i];
    out[i].healthy = b.active_healthy.load(std::memory_order_acquire) &&
                     now_ns >= b.ejected_until_ns.load(std::memory_order_acquire);
    any |= out[i].healthy;
  }
  if (any) return;
  for (size_t i = 0; i < size_; ++i) {
    out[i].healthy = backends_[i].active_healthy.load(std::memory_order_acquire);
  }
}

size_t HealthTable::AvailableCount(TimePoint now) const {
  size_t in_service = 0, active = 0;
  for (size_t i = 0; i < size_; ++i) {
    in_service += InService(i, now) ? 1 : 0;
    active += ActiveHealthy(i) ? 1 : 0;
  }
  return in_service > 0 ? in_service : active;
}

size_t HealthTable::EjectedCount(TimePoint now) const {
  size_t n = 0;
  for (size_t i = 0; i < size_; ++i) n += Ejected(i, now) ? 1 : 0;
  return n;
}

void HealthTable::SetActiveHealthy(size_t backend, bool healthy) {
  GRID_CHECK_LT(backend, size_);
  backends_[backend].active_healthy.store(healthy, std::memory_order_release);
}

void HealthTable::SetEjectedUntil(size_t backend, TimePoint until) {
  GRID_CHECK_LT(backend, size_);
  backends_[backend].ejected_until_ns.store(ToNs(until), std::memory_order_release);
}

}  // namespace grid::router::health
