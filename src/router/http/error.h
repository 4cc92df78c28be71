// The codec's refusals. Every way a message can be refused is one HttpError; each carries the
// status the proxy answers with and a short reason for logs and error pages. A request error
// answers the client with its own status (400, 414, 417, 431, 501, 505); any error in an
// upstream response answers the client with 502.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace grid::router::http {

// Which side of the proxy a message came from: decides the status an error answers with.
enum class MessageKind : uint8_t { kRequest, kResponse };

enum class HttpError : uint8_t {
  kNone = 0,
  // Line structure.
  kBareLf,  // a line ended by LF alone
  kBareCr,  // a CR not followed by LF
  // Start lines.
  kBadRequestLine,      // separators, missing parts, too many leading empty lines
  kBadMethod,           // method is not a token
  kBadTarget,           // request-target bytes or form
  kBadVersion,          // not "HTTP/" DIGIT "." DIGIT
  kUnsupportedVersion,  // well formed but not 1.0 or 1.1
  kRequestLineTooLong,  // CodecLimits::max_request_line_bytes
  kBadStatusLine,
  kBadStatusCode,      // not three digits in 100..599
  kStatusLineTooLong,  // CodecLimits::max_status_line_bytes
  // Field lines.
  kHeaderSectionTooLarge,  // CodecLimits::max_header_bytes
  kTooManyHeaders,         // CodecLimits::max_header_count
  kObsFold,                // a field line starting with SP or HTAB
  kSpaceBeforeColon,       // whitespace between field name and colon
  kBadHeaderName,          // empty name or a byte that is not a token character
  kBadHeaderValue,         // control character (other than HTAB) or DEL in a value
  // Field semantics.
  kMissingHost,  // HTTP/1.1 request without Host
  kDuplicateHost,
  kBadHost,
  kContentLengthWithTransferEncoding,
  kDuplicateContentLength,
  kBadContentLength,            // not 1*DIGIT
  kContentLengthOverflow,       // above kMaxBodyLength
  kTransferEncodingNotChunked,  // chunked missing, not final, twice, or an empty element
  kUnsupportedTransferCoding,   // a coding other than chunked before the final chunked
  kTransferEncodingInHttp10,
  kUnsupportedExpectation,        // Expect other than 100-continue
  kUnexpectedSwitchingProtocols,  // 101 to a request that asked for no upgrade
  // Chunked bodies.
  kBadChunkSize,
  kChunkSizeOverflow,  // above kMaxBodyLength
  kChunkLineTooLong,   // CodecLimits::max_chunk_size_line_bytes
  kBadChunkExtension,
  kMissingChunkCrlf,  // chunk data or chunk-size line not followed by CRLF
  kTrailerTooLarge,   // CodecLimits::max_trailer_bytes
  // Connection.
  kIncompleteMessage,  // the peer closed before the message ended
};

// A refusal: what went wrong, the status to answer with, and a short reason.
struct CodecError {
  HttpError code = HttpError::kNone;
  uint16_t status = 0;      // 0 when code is kNone
  std::string_view reason;  // static text

  bool ok() const { return code == HttpError::kNone; }
};

// The error as seen from `kind`: a request's status from the table in README.md, 502 for any
// error in a response.
CodecError MakeError(HttpError code, MessageKind kind);

// The enumerator's name without the k, e.g. "BareLf".
std::string_view HttpErrorName(HttpError code);

// For callers that propagate Statuses: InvalidArgument "<status> <name>: <reason>"; OK for
// kNone.
Status ToStatus(const CodecError& error);

}  // namespace grid::router::http
