// One line per request, written with a single write(2) to a file opened O_APPEND (or to
// stderr), so lines from several loops never interleave. Off unless opened. Thread-safe.
//
//   <time> <client> "<method> <target>" <status> <bytes_in> <bytes_out> <upstream|-> <duration_us> <request_id>
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace grid::router::proxy {

struct AccessRecord {
  std::string_view client;
  std::string_view method;
  std::string_view target;
  int status = 0;
  uint64_t bytes_in = 0;   // request body bytes forwarded
  uint64_t bytes_out = 0;  // response bytes sent to the client, head included
  std::string_view upstream;  // empty: answered by the proxy
  uint64_t duration_us = 0;
  std::string_view request_id;
};

class AccessLog {
 public:
  AccessLog() = default;
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // "-" is stderr.
  [[nodiscard]] Status Open(const std::string& path);
  bool enabled() const { return fd_ >= 0; }
  void Write(const AccessRecord& record);

 private:
  int fd_ = -1;
  bool owned_ = false;
};

}  // namespace grid::router::proxy
