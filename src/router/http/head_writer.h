// Builds the heads the proxy sends on: a request head for the upstream and a response head for
// the client, from parsed heads. Hop-by-hop fields (the standard set and every field named in
// Connection) are dropped; framing and connection fields are written by the proxy's rules, not
// copied. Everything is appended to a caller-provided string (reuse it to avoid allocation).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "router/http/message.h"

namespace grid::router::http {

struct UpstreamRequestOptions {
  // The client's address as text, e.g. "203.0.113.7" or "2001:db8::7"; the last
  // X-Forwarded-For element.
  std::string_view client_address;
  // The scheme the client used ("http" or "https"); replaces any X-Forwarded-Proto it sent.
  std::string_view client_scheme = "http";
  // Sent as X-Request-Id when the request carries none (the caller generates ids).
  std::string_view request_id;
  // true: keep the X-Forwarded-For elements the client sent and append client_address;
  // false: send client_address alone (the client is not trusted to report hops).
  bool append_forwarded_for = true;
};

// Appends the head to send upstream:
//   - request line: method and target as received, except that an absolute-form target is
//     sent in origin-form (path and query, "/" when empty; RFC 9112 §3.2.2) with its authority
//     as Host; version as the client's (an HTTP/1.0 client's request goes as HTTP/1.0, so the
//     upstream can not answer it chunked);
//   - every field in order, except hop-by-hop fields (Connection, Proxy-Connection, Keep-Alive,
//     Proxy-Authenticate, Proxy-Authorization, TE, Trailer, Transfer-Encoding, Upgrade and the
//     fields named in Connection), X-Forwarded-For, X-Forwarded-Proto and any X-Request-Id
//     after the first non-empty one; traceparent and every other field pass unchanged;
//   - Host when the request had none or was absolute-form; "Transfer-Encoding: chunked" for a
//     chunked body; "Connection: upgrade" with the Upgrade field kept for an upgrade, else
//     "Connection: keep-alive"; X-Forwarded-For, X-Forwarded-Proto, and X-Request-Id when the
//     request carried none.
// Returns the X-Request-Id sent: the request's own or options.request_id.
std::string_view AppendUpstreamRequestHead(const RequestHead& head,
                                           const UpstreamRequestOptions& options, std::string* out);

struct ClientResponseOptions {
  HttpVersion client_version = HttpVersion::kHttp11;
  // The proxy keeps the client connection after this response (the request's keep_alive and
  // the proxy's own policy). A kUntilClose body always closes it.
  bool keep_alive = true;
  // Added as X-Request-Id when not empty and the response carries none.
  std::string_view request_id;
};

// Appends the head to send to the client: "HTTP/1.1" with the upstream's status and reason;
// every field except hop-by-hop ones (Upgrade kept for a 101); "Transfer-Encoding: chunked"
// for a chunked body; "Connection: upgrade" for a 101, "Connection: close" when the client
// connection ends after this response, "Connection: keep-alive" for an HTTP/1.0 client whose
// connection stays; X-Request-Id per the options.
// FailedPrecondition, with nothing appended, when the response can not go to this client as
// is: a 1xx to an HTTP/1.0 client (RFC 9110 §15.2: drop it) or a chunked body to an HTTP/1.0
// client (answer 502).
[[nodiscard]] Status AppendClientResponseHead(const ResponseHead& head,
                                              const ClientResponseOptions& options,
                                              std::string* out);

}  // namespace grid::router::http
