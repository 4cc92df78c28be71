// Named bounds on everything the HTTP/1.1 codec buffers or counts. Each is checked by the
// parser or framer that owns the bytes; going over is a named HttpError (see error.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace grid::router::http {

struct CodecLimits {
  // Request line, without its CRLF. Longer: 414 (kRequestLineTooLong).
  size_t max_request_line_bytes = 8 * 1024;
  // Status line of an upstream response, without its CRLF. Longer: 502 (kStatusLineTooLong).
  size_t max_status_line_bytes = 8 * 1024;
  // Empty lines (CRLF) a request may carry before its request line (RFC 9112 §2.2 asks to
  // ignore at least one). More: 400 (kBadRequestLine). Responses may carry none.
  size_t max_leading_empty_lines = 4;
  // Header section: every field line with its CRLF plus the CRLF that ends the head (the
  // start line is not counted). Larger: 431 (kHeaderSectionTooLarge).
  size_t max_header_bytes = 32 * 1024;
  // Field lines in one head. More: 431 (kTooManyHeaders).
  size_t max_header_count = 100;
  // One chunk-size line: the hex size and its extensions, without the CRLF. Longer: 400
  // (kChunkLineTooLong).
  size_t max_chunk_size_line_bytes = 4 * 1024;
  // Trailer section of a chunked body: every trailer field line with its CRLF plus the final
  // CRLF. Larger: 400 (kTrailerTooLarge).
  size_t max_trailer_bytes = 8 * 1024;
};

// Largest Content-Length and chunk size accepted (2^63 - 1): larger is an overflow error, so a
// body length always fits a signed 64-bit file offset.
inline constexpr uint64_t kMaxBodyLength = 0x7fffffffffffffffULL;

}  // namespace grid::router::http
