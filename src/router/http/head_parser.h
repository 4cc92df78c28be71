// The engine under RequestParser and ResponseParser: splits a head into CRLF-ended lines as
// bytes arrive, enforces the size limits while a line is still incomplete, parses the start
// line and each field line exactly once, and gathers the facts that decide framing. Positions
// are offsets (the caller's buffer may move between calls); views are built on completion.
// Internal to the codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "router/http/error.h"
#include "router/http/limits.h"
#include "router/http/message.h"

namespace grid::router::http::internal {

// Fields reserved up front; beyond it vectors grow once and keep their capacity across Reset().
inline constexpr size_t kInitialFieldCapacity = 32;

struct FieldSpan {
  uint32_t name_begin;
  uint32_t name_size;
  uint32_t value_begin;
  uint32_t value_size;
};

struct StartLine {
  HttpVersion version = HttpVersion::kHttp11;
  // Request line.
  uint32_t method_begin = 0;
  uint32_t method_size = 0;
  uint32_t target_begin = 0;
  uint32_t target_size = 0;
  Method method = Method::kOther;
  TargetForm target_form = TargetForm::kOrigin;
  uint32_t authority_begin = 0;  // absolute-form and authority-form
  uint32_t authority_size = 0;
  // Status line.
  uint16_t status_code = 0;
  uint32_t reason_begin = 0;
  uint32_t reason_size = 0;
};

// What the fields say about framing and the connection.
struct FieldFacts {
  uint32_t content_length_fields = 0;
  uint64_t content_length = 0;
  bool transfer_encoding = false;  // at least one Transfer-Encoding field
  bool te_final_chunked = false;   // the last coding seen is chunked
  bool te_malformed = false;       // an empty element, or a coding after chunked
  uint32_t te_codings = 0;
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool connection_upgrade = false;
  bool connection_other = false;  // Connection names other fields
  uint32_t host_fields = 0;
  uint32_t host_begin = 0;
  uint32_t host_size = 0;
  bool upgrade_field = false;
  uint32_t upgrade_begin = 0;
  uint32_t upgrade_size = 0;
  bool expect_continue = false;
  bool expect_other = false;
};

class HeadParser {
 public:
  HeadParser(MessageKind kind, const CodecLimits& limits);

  // `buffer` holds the message from its first byte; bytes given before must be unchanged.
  ParseState Parse(std::string_view buffer);
  void Reset();

  HttpError error() const { return error_; }
  size_t head_bytes() const { return head_bytes_; }
  const StartLine& start_line() const { return start_; }
  const FieldFacts& facts() const { return facts_; }
  // Replaces `out` with views of the field lines into `buffer` (the completing buffer).
  void BuildFields(std::string_view buffer, std::vector<HeaderField>* out) const;

 private:
  enum class Phase : uint8_t { kStartLine, kFields };

  ParseState Fail(HttpError error);
  HttpError ParseRequestLine(std::string_view line, uint32_t begin);
  HttpError ParseStatusLine(std::string_view line, uint32_t begin);
  HttpError ParseFieldLine(std::string_view line, uint32_t begin);
  HttpError ApplyField(std::string_view name, std::string_view value, uint32_t value_begin);

  const MessageKind kind_;
  const CodecLimits limits_;
  ParseState state_ = ParseState::kNeedMore;
  Phase phase_ = Phase::kStartLine;
  HttpError error_ = HttpError::kNone;
  size_t scan_pos_ = 0;    // bytes before this hold no LF that is not yet handled
  size_t line_start_ = 0;  // first byte of the current line
  size_t fields_begin_ = 0;
  size_t leading_empty_lines_ = 0;
  size_t head_bytes_ = 0;
  StartLine start_;
  FieldFacts facts_;
  std::vector<FieldSpan> fields_;
};

// The framing errors common to requests and responses, in this order: Content-Length with
// Transfer-Encoding, Transfer-Encoding in HTTP/1.0, Transfer-Encoding other than one final
// chunked (kTransferEncodingNotChunked), codings before chunked (kUnsupportedTransferCoding).
HttpError CheckFraming(const FieldFacts& facts, HttpVersion version);

// Whether `s` is a valid authority (Host value or authority part of a target): host
// characters only; with `require_port`, non-empty and ending in ":" 1*DIGIT.
bool ValidAuthority(std::string_view s, bool require_port);

}  // namespace grid::router::http::internal
