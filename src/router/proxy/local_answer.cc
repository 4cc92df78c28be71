#include "router/proxy/local_answer.h"

#include <fmt/format.h>

namespace grid::router::proxy {

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
  }
}

void AppendLocalAnswer(int status, std::string_view body, uint32_t retry_after_s,
                       bool keep_alive, std::string_view request_id, std::string* out,
                       std::string_view extra_field) {
  fmt::format_to(std::back_inserter(*out),
                 "HTTP/1.1 {} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n", status,
                 ReasonPhrase(status), body.size());
  if (retry_after_s > 0) fmt::format_to(std::back_inserter(*out), "Retry-After: {}\r\n", retry_after_s);
  if (!request_id.empty()) fmt::format_to(std::back_inserter(*out), "X-Request-Id: {}\r\n", request_id);
  if (!extra_field.empty()) out->append(extra_field).append("\r\n");
  out->append(keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
  out->append(body);
}

}  // namespace grid::router::proxy
