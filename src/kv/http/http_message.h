// HTTP/1.x requests and responses for the client port's plain-HTTP endpoints: an incremental
// request parser with size limits and a response serialiser. One request per connection: every
// response carries "Connection: close". Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace grid::kv::http {

struct HttpLimits {
  // Request line and headers, up to and including the empty line. Larger: 431.
  size_t max_head_bytes = 16 * 1024;
  // Request body (Content-Length). Larger: 413. No endpoint reads a body; a small one is
  // accepted and ignored, as etcd does.
  size_t max_body_bytes = 64 * 1024;
};

struct HttpRequest {
  std::string method;  // as sent, e.g. "GET"
  std::string path;    // request target up to '?', e.g. "/health" (not percent-decoded)
  std::string query;   // after '?', without it; empty when absent
  int version_minor = 1;  // HTTP/1.<version_minor>
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  // First value of a header (name lower-case), or nullptr.
  const std::string* Header(std::string_view name) const;
  // Every value of query parameter `name`, percent-decoded, in order.
  std::vector<std::string> QueryValues(std::string_view name) const;
};

enum class ParseState { kIncomplete, kComplete, kError };

struct ParseResult {
  ParseState state = ParseState::kIncomplete;
  HttpRequest request;       // when kComplete
  size_t consumed_bytes = 0;  // when kComplete: head + body
  // When kError, the status to answer with: 400 (malformed), 413 (body over the limit),
  // 431 (head over the limit), 501 (Transfer-Encoding, not supported), 505 (not HTTP/1.x).
  int error_status = 0;
};

// Parses one request from the start of `buffer`. kIncomplete: more bytes are needed (the bytes
// so far are within the limits).
ParseResult ParseRequest(std::string_view buffer, const HttpLimits& limits);

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // besides the ones added below
  std::string body;
};

// Go's net/http short texts: "Not Found", ...; "Unknown" for codes it does not know.
std::string_view StatusText(int status);

// The plain-text error response Go's net/http writes for a request it cannot parse,
// e.g. 400 with body "400 Bad Request".
HttpResponse ErrorResponse(int status);

// Status line, `response.headers`, Date, Content-Length and "Connection: close", then the
// body unless `head_only` (a HEAD request).
std::string SerializeResponse(const HttpResponse& response, bool head_only,
                              std::chrono::system_clock::time_point now);

}  // namespace grid::kv::http
