// Incremental parser of one upstream response head, used like RequestParser. Its framing
// follows RFC 9112 §6.3 and needs the request the response answers (ResponseContext). Any
// error answers the client with 502.
//
// After a 1xx interim response (head().interim), Reset() with the same context and parse the
// next response from the byte after the head. Not thread-safe; one per upstream connection.
#pragma once

#include <string_view>
#include <vector>

#include "router/http/error.h"
#include "router/http/head_parser.h"
#include "router/http/limits.h"
#include "router/http/message.h"

namespace grid::router::http {

// What the response framing depends on in the request it answers.
struct ResponseContext {
  Method request_method = Method::kGet;
  // The request was forwarded as an upgrade (RequestHead::upgrade); only then is 101 valid.
  bool upgrade_requested = false;
};

class ResponseParser {
 public:
  explicit ResponseParser(const CodecLimits& limits = {});

  // As RequestParser::Parse.
  [[nodiscard]] ParseState Parse(std::string_view buffer);

  // REQUIRES: the last Parse() returned kComplete.
  const ResponseHead& head() const;
  // REQUIRES: the last Parse() returned kError. status is 502.
  const CodecError& error() const;

  // Forgets the message; the next Parse() starts a response to a request described by
  // `context`.
  void Reset(const ResponseContext& context = {});

 private:
  ParseState Finish(std::string_view buffer);

  internal::HeadParser core_;
  ResponseContext context_;
  std::vector<HeaderField> fields_;
  ResponseHead head_;
  CodecError error_;
  ParseState state_ = ParseState::kNeedMore;
};

}  // namespace grid::router::http
