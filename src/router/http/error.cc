#include "router/http/error.h"

#include <array>
#include <string>

namespace grid::router::http {
namespace {

struct ErrorInfo {
  std::string_view name;
  uint16_t request_status;
  std::string_view reason;
};

constexpr size_t kErrorCount = static_cast<size_t>(HttpError::kIncompleteMessage) + 1;

constexpr std::array<ErrorInfo, kErrorCount> kErrors = {{
    {"None", 0, ""},
    {"BareLf", 400, "line ended by LF without CR"},
    {"BareCr", 400, "CR not followed by LF"},
    {"BadRequestLine", 400, "malformed request line"},
    {"BadMethod", 400, "invalid character in method"},
    {"BadTarget", 400, "invalid request target"},
    {"BadVersion", 400, "malformed HTTP version"},
    {"UnsupportedVersion", 505, "HTTP version not supported"},
    {"RequestLineTooLong", 414, "request line too long"},
    {"BadStatusLine", 502, "malformed status line"},
    {"BadStatusCode", 502, "invalid status code"},
    {"StatusLineTooLong", 502, "status line too long"},
    {"HeaderSectionTooLarge", 431, "header section too large"},
    {"TooManyHeaders", 431, "too many header fields"},
    {"ObsFold", 400, "obsolete line folding"},
    {"SpaceBeforeColon", 400, "whitespace between field name and colon"},
    {"BadHeaderName", 400, "invalid field name"},
    {"BadHeaderValue", 400, "control character in field value"},
    {"MissingHost", 400, "HTTP/1.1 request without Host"},
    {"DuplicateHost", 400, "more than one Host field"},
    {"BadHost", 400, "invalid Host"},
    {"ContentLengthWithTransferEncoding", 400, "both Content-Length and Transfer-Encoding"},
    {"DuplicateContentLength", 400, "more than one Content-Length"},
    {"BadContentLength", 400, "Content-Length is not a decimal number"},
    {"ContentLengthOverflow", 400, "Content-Length too large"},
    {"TransferEncodingNotChunked", 400, "Transfer-Encoding does not end in one chunked"},
    {"UnsupportedTransferCoding", 501, "transfer coding other than chunked"},
    {"TransferEncodingInHttp10", 400, "Transfer-Encoding in an HTTP/1.0 message"},
    {"UnsupportedExpectation", 417, "expectation other than 100-continue"},
    {"UnexpectedSwitchingProtocols", 502, "101 to a request without upgrade"},
    {"BadChunkSize", 400, "invalid chunk size"},
    {"ChunkSizeOverflow", 400, "chunk size too large"},
    {"ChunkLineTooLong", 400, "chunk size line too long"},
    {"BadChunkExtension", 400, "invalid chunk extension"},
    {"MissingChunkCrlf", 400, "chunk not followed by CRLF"},
    {"TrailerTooLarge", 400, "trailer section too large"},
    {"IncompleteMessage", 400, "connection closed before the message ended"},
}};

const ErrorInfo& Info(HttpError code) {
  const auto i = static_cast<size_t>(code);
  GRID_CHECK(i < kErrors.size()) << "unknown HttpError " << i;
  return kErrors[i];
}

}  // namespace

CodecError MakeError(HttpError code, MessageKind kind) {
  const ErrorInfo& info = Info(code);
  CodecError e;
  e.code = code;
  e.reason = info.reason;
  if (code != HttpError::kNone)
    e.status = kind == MessageKind::kResponse ? 502 : info.request_status;
  return e;
}

std::string_view HttpErrorName(HttpError code) { return Info(code).name; }

Status ToStatus(const CodecError& error) {
  if (error.ok()) return Status::Ok();
  std::string m = std::to_string(error.status);
  m += ' ';
  m += HttpErrorName(error.code);
  m += ": ";
  m += error.reason;
  return InvalidArgument(std::move(m));
}

}  // namespace grid::router::http
