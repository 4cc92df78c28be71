// Parsed message heads. Heads are views: every string_view points into the buffer the caller
// passed to the Parse() call that completed the head, and `headers` points into the parser.
// A head is valid until that buffer changes or the parser is Reset() or parses again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace grid::router::http {

// Result of feeding bytes to a parser or framer. kComplete and kError are sticky until Reset().
enum class ParseState : uint8_t { kNeedMore, kComplete, kError };

enum class HttpVersion : uint8_t { kHttp10, kHttp11 };

// The methods the codec or the proxy treat specially; every other token is kOther.
enum class Method : uint8_t {
  kGet,
  kHead,
  kPost,
  kPut,
  kDelete,
  kConnect,
  kOptions,
  kTrace,
  kPatch,
  kOther,
};

// RFC 9112 §3.2.
enum class TargetForm : uint8_t {
  kOrigin,     // "/path?query"
  kAbsolute,   // "http://host/path"
  kAuthority,  // "host:port", CONNECT only
  kAsterisk,   // "*", OPTIONS only
};

enum class BodyKind : uint8_t {
  kNone,           // no body: the next message starts right after the head
  kContentLength,  // exactly content_length bytes
  kChunked,        // chunked transfer coding, ended by the last chunk and trailers
  kUntilClose,     // response bytes until the upstream closes (RFC 9112 §6.3 item 8)
  kTunnel,         // 101 or 2xx to CONNECT: the connection becomes an opaque byte stream
};

struct BodyFraming {
  BodyKind kind = BodyKind::kNone;
  uint64_t content_length = 0;  // kContentLength only
};

struct HeaderField {
  std::string_view name;   // as sent (case kept); a token
  std::string_view value;  // leading and trailing SP/HTAB removed
};

struct RequestHead {
  std::string_view method_name;  // as sent, e.g. "GET"
  Method method = Method::kOther;
  std::string_view target;  // request-target as sent
  TargetForm target_form = TargetForm::kOrigin;
  HttpVersion version = HttpVersion::kHttp11;
  std::span<const HeaderField> headers;  // in arrival order

  // The authority the request is for: the target's authority in absolute-form (RFC 9112
  // §3.2.2: Host is then ignored) and authority-form, else the Host value (empty when an
  // HTTP/1.0 request has none).
  std::string_view host;
  BodyFraming framing;  // kNone, kContentLength or kChunked
  // The client wants the connection kept after the response: HTTP/1.1 unless Connection has
  // "close"; HTTP/1.0 only with "keep-alive" and without "close".
  bool keep_alive = false;
  // HTTP/1.1, Connection has "upgrade" and an Upgrade field is present.
  bool upgrade = false;
  std::string_view upgrade_protocols;  // the first Upgrade value when `upgrade`
  // HTTP/1.1 and Expect: 100-continue.
  bool expect_continue = false;
  // Connection names other fields (tokens besides close/keep-alive/upgrade): those are
  // hop-by-hop too and the head writers drop them.
  bool connection_names_fields = false;
  // Bytes of the head in the buffer, leading empty lines and the final CRLF included.
  size_t head_bytes = 0;
};

struct ResponseHead {
  HttpVersion version = HttpVersion::kHttp11;
  uint16_t status_code = 0;
  std::string_view reason;  // may be empty
  std::span<const HeaderField> headers;

  BodyFraming framing;  // from RFC 9112 §6.3 and the request it answers
  // The upstream connection can carry another request after this response's body: HTTP/1.1
  // unless Connection has "close", HTTP/1.0 only with "keep-alive"; never for kUntilClose or
  // kTunnel.
  bool keep_alive = false;
  // 1xx other than 101: the final response follows on the same connection.
  bool interim = false;
  bool connection_names_fields = false;  // as in RequestHead
  size_t head_bytes = 0;
};

// ASCII case-insensitive equality (field names, tokens).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// The value of the first field named `name` (case-insensitive), or nullopt.
std::optional<std::string_view> FindHeader(std::span<const HeaderField> headers,
                                           std::string_view name);

}  // namespace grid::router::http
