// Responses the proxy writes itself: refusals, unknown tenants, no backend, upstream
// failures and timeouts.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace grid::router::proxy {

// The standard reason phrase of `status`, or "Unknown".
std::string_view ReasonPhrase(int status);

// Appends "HTTP/1.1 <status> <reason>" with Content-Type text/plain, Content-Length,
// Retry-After (when retry_after_s > 0), X-Request-Id (when not empty), `extra_field` (one
// "Name: value" line without its CRLF, when not empty), Connection keep-alive or close, then
// `body`.
void AppendLocalAnswer(int status, std::string_view body, uint32_t retry_after_s,
                       bool keep_alive, std::string_view request_id, std::string* out,
                       std::string_view extra_field = {});

}  // namespace grid::router::proxy
