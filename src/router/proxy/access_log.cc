#include "router/proxy/access_log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

namespace grid::router::proxy {

AccessLog::~AccessLog() {
  if (owned_ && fd_ >= 0) close(fd_);
}

Status AccessLog::Open(const std::string& path) {
  if (path == "-") {
    fd_ = STDERR_FILENO;
    return Status::Ok();
  }
  fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) return ErrnoStatus("open access log " + path, errno);
  owned_ = true;
  return Status::Ok();
}

void AccessLog::Write(const AccessRecord& r) {
  if (fd_ < 0) return;
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  tm utc;
  gmtime_r(&now.tv_sec, &utc);
  fmt::memory_buffer line;
  fmt::format_to(std::back_inserter(line),
                 "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} \"{} {}\" {} {} {} {} {} {}\n",
                 utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                 utc.tm_sec, now.tv_nsec / 1000000, r.client, r.method, r.target, r.status,
                 r.bytes_in, r.bytes_out, r.upstream.empty() ? "-" : r.upstream, r.duration_us,
                 r.request_id.empty() ? "-" : r.request_id);
  [[maybe_unused]] ssize_t ignored = write(fd_, line.data(), line.size());
}

}  // namespace grid::router::proxy
