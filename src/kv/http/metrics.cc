#include "kv/http/metrics.h"

#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace grid::kv::http {
namespace {

std::optional<std::string> ReadSmallFile(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class Writer {
 public:
  void Gauge(std::string_view name, std::string_view help, double value) {
    Sample(name, help, "gauge", "", value);
  }
  void Counter(std::string_view name, std::string_view help, double value) {
    Sample(name, help, "counter", "", value);
  }
  void LabeledGauge(std::string_view name, std::string_view help, std::string_view labels,
                    double value) {
    Sample(name, help, "gauge", labels, value);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Sample(std::string_view name, std::string_view help, std::string_view type,
              std::string_view labels, double value) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n{}", name, help, name, type, name);
    if (!labels.empty()) out_ += fmt::format("{{{}}}", labels);
    out_ += fmt::format(" {}\n", value);
  }
  std::string out_;
};

}  // namespace

std::optional<ProcessMetrics> ReadProcessMetrics() {
  const auto stat = ReadSmallFile("/proc/self/stat");
  const auto sys_stat = ReadSmallFile("/proc/stat");
  if (!stat || !sys_stat) return std::nullopt;
  // Fields after the parenthesised command name, starting with field 3 (state).
  const size_t paren = stat->rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat->substr(paren + 1));
  std::vector<std::string> f;
  for (std::string s; fields >> s;) f.push_back(s);
  constexpr size_t kUtime = 14 - 3, kStime = 15 - 3, kStartTime = 22 - 3, kVsize = 23 - 3,
                   kRss = 24 - 3;
  if (f.size() <= kRss) return std::nullopt;
  int64_t btime = -1;
  std::istringstream sys(*sys_stat);
  for (std::string line; std::getline(sys, line);) {
    if (line.rfind("btime ", 0) == 0) btime = std::stoll(line.substr(6));
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const int64_t page_bytes = sysconf(_SC_PAGESIZE);
  ProcessMetrics m;
  try {
    m.cpu_seconds_total = static_cast<double>(std::stoull(f[kUtime]) + std::stoull(f[kStime])) /
                          ticks;
    m.start_time_seconds =
        static_cast<double>(btime) + static_cast<double>(std::stoull(f[kStartTime])) / ticks;
    m.virtual_memory_bytes = std::stoll(f[kVsize]);
    m.resident_memory_bytes = std::stoll(f[kRss]) * page_bytes;
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++m.open_fds;
  }
  struct rlimit limit {};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) m.max_fds = static_cast<int64_t>(limit.rlim_cur);
  return m;
}

std::string FormatPrometheus(const MetricsSnapshot& s) {
  Writer w;
  w.Gauge("etcd_debugging_mvcc_compact_revision",
          "The revision of the last compaction in store.",
          static_cast<double>(std::max<int64_t>(s.compact_revision, 0)));
  w.Gauge("etcd_debugging_mvcc_current_revision", "The current revision of store.",
          static_cast<double>(s.current_revision));
  w.Gauge("etcd_mvcc_db_total_size_in_bytes",
          "Total size of the underlying database physically allocated in bytes.",
          static_cast<double>(s.db_total_size_bytes));
  w.Gauge("etcd_mvcc_db_total_size_in_use_in_bytes",
          "Total size of the underlying database logically in use in bytes.",
          static_cast<double>(s.db_total_size_in_use_bytes));
  w.Gauge("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.",
          s.has_leader ? 1 : 0);
  w.Counter("etcd_server_health_failures", "The total number of failed health checks",
            static_cast<double>(s.health_failures_total));
  w.Counter("etcd_server_health_success", "The total number of successful health checks",
            static_cast<double>(s.health_success_total));
  w.LabeledGauge("etcd_server_id",
                 "Server or member ID in hexadecimal format. 1 for 'server_id' label with "
                 "current ID.",
                 fmt::format("server_id=\"{:x}\"", s.member_id), 1);
  w.Gauge("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.",
          s.is_leader ? 1 : 0);
  w.Gauge("etcd_server_proposals_applied_total",
          "The total number of consensus proposals applied.",
          static_cast<double>(s.applied_index));
  w.Gauge("etcd_server_proposals_committed_total",
          "The total number of consensus proposals committed.",
          static_cast<double>(s.committed_index));
  w.Gauge("etcd_server_quota_backend_bytes", "Current backend storage quota size in bytes.",
          static_cast<double>(s.quota_backend_bytes));
  w.LabeledGauge("etcd_server_version",
                 "Which version is running. 1 for 'server_version' label with current version.",
                 fmt::format("server_version=\"{}\"", s.server_version), 1);
  w.Gauge("gridkv_server_active_alarms", "The number of active alarms (member, alarm type).",
          static_cast<double>(s.active_alarms));
  w.Gauge("gridkv_server_uptime_seconds", "Seconds since the member started serving.",
          s.uptime_seconds);
  if (s.process) {
    const ProcessMetrics& p = *s.process;
    w.Counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
              p.cpu_seconds_total);
    w.Gauge("process_max_fds", "Maximum number of open file descriptors.",
            static_cast<double>(p.max_fds));
    w.Gauge("process_open_fds", "Number of open file descriptors.",
            static_cast<double>(p.open_fds));
    w.Gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
            static_cast<double>(p.resident_memory_bytes));
    w.Gauge("process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.", p.start_time_seconds);
    w.Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
            static_cast<double>(p.virtual_memory_bytes));
  }
  return w.Take();
}

}  // namespace grid::kv::http
