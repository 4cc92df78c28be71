// etcd 3.4's plain-HTTP endpoints on the client port:
//   GET /health   {"health":"true"} (200) or {"health":"false"} (503): false when an alarm is
//                 active (unless named by ?exclude=ALARM), when there is no leader, or when a
//                 linearizable read does not complete within kHealthReadTimeout (etcd's QGET).
//   GET /version  {"etcdserver":"3.4.23","etcdcluster":"3.4.0"}
//   /metrics      Prometheus text (any method, as etcd's promhttp handler)
//   anything else 404 "404 page not found"
// Bodies, status codes and headers are etcd 3.4.23's (Go net/http's) byte for byte.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kv/http/http_message.h"
#include "kv/http/metrics.h"

namespace grid::kv::http {

// What the endpoints need from the member. Implementations must be thread-safe.
class MemberStatusSource {
 public:
  virtual ~MemberStatusSource() = default;
  // One alarm type name (etcdserverpb::AlarmType, e.g. "NOSPACE") per active alarm.
  virtual std::vector<std::string> ActiveAlarms() const = 0;
  virtual bool HasLeader() const = 0;
  // True when a linearizable read can be served within `timeout`; blocks at most that long.
  virtual bool LinearizableReadWithin(std::chrono::milliseconds timeout) const = 0;
  // Everything but the health counters, which the handler keeps.
  virtual MetricsSnapshot Metrics() const = 0;
};

struct VersionInfo {
  std::string server = "3.4.23";
  std::string cluster = "3.4.0";
};

// etcd's bound on the health check's read (1 s).
inline constexpr std::chrono::milliseconds kHealthReadTimeout{1000};

// Thread-safe.
class EtcdHttpHandler {
 public:
  EtcdHttpHandler(std::unique_ptr<MemberStatusSource> source, VersionInfo versions);

  HttpResponse Handle(const HttpRequest& request);

 private:
  HttpResponse Health(const HttpRequest& request);
  HttpResponse Version(const HttpRequest& request) const;
  HttpResponse Metrics() const;

  const std::unique_ptr<MemberStatusSource> source_;
  const VersionInfo versions_;
  std::atomic<uint64_t> health_success_{0};
  std::atomic<uint64_t> health_failures_{0};
};

}  // namespace grid::kv::http
