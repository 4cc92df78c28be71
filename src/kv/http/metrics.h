// The member's counters as the Prometheus text exposition format (version 0.0.4), named as
// etcd 3.4 names them where the meaning is the same. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace grid::kv::http {

// Figures of the process itself, read from /proc. Absent when /proc cannot be read.
struct ProcessMetrics {
  double cpu_seconds_total = 0;
  int64_t open_fds = 0;
  int64_t max_fds = 0;
  int64_t resident_memory_bytes = 0;
  int64_t virtual_memory_bytes = 0;
  double start_time_seconds = 0;  // since the Unix epoch
};

struct MetricsSnapshot {
  std::string server_version;  // e.g. "3.4.23"
  uint64_t member_id = 0;
  bool has_leader = true;
  bool is_leader = true;
  uint64_t committed_index = 0;  // etcd_server_proposals_committed_total
  uint64_t applied_index = 0;    // etcd_server_proposals_applied_total
  int64_t quota_backend_bytes = 0;
  int64_t active_alarms = 0;
  int64_t current_revision = 0;
  int64_t compact_revision = -1;  // -1: never compacted
  int64_t db_total_size_bytes = 0;
  int64_t db_total_size_in_use_bytes = 0;
  uint64_t health_success_total = 0;
  uint64_t health_failures_total = 0;
  double uptime_seconds = 0;  // since the member started serving
  std::optional<ProcessMetrics> process;
};

// Reads this process's figures from /proc; nullopt when they cannot be read.
std::optional<ProcessMetrics> ReadProcessMetrics();

// "# HELP", "# TYPE" and one sample line per metric, '\n'-terminated.
std::string FormatPrometheus(const MetricsSnapshot& snapshot);

// The Content-Type of FormatPrometheus's output.
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace grid::kv::http
