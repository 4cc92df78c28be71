// Incremental parser of one request head (RFC 9112 §2-§7 as refined in README.md). No
// allocation in steady state: field positions go to vectors that keep their capacity.
//
//   RequestParser p(limits);
//   switch (p.Parse(buffer)) {          // buffer: the message's bytes so far, from its start
//     case ParseState::kNeedMore: ...   // read more, append, call again
//     case ParseState::kComplete: ...   // p.head(); the body starts at p.head().head_bytes
//     case ParseState::kError: ...      // answer p.error().status, then close
//   }
//   p.Reset();                          // before the next message on the connection
//
// Not thread-safe; one per connection.
#pragma once

#include <string_view>
#include <vector>

#include "router/http/error.h"
#include "router/http/head_parser.h"
#include "router/http/limits.h"
#include "router/http/message.h"

namespace grid::router::http {

class RequestParser {
 public:
  explicit RequestParser(const CodecLimits& limits = {});

  // `buffer` holds every byte received for this message, from its first byte; the bytes given
  // in earlier calls must be unchanged (the buffer itself may have moved). Each byte is
  // examined a bounded number of times however the bytes are split across calls, and the
  // outcome does not depend on the split. Bytes after the head (body, pipelined requests)
  // are not looked at.
  [[nodiscard]] ParseState Parse(std::string_view buffer);

  // REQUIRES: the last Parse() returned kComplete. Views into the buffer of that call.
  const RequestHead& head() const;
  // REQUIRES: the last Parse() returned kError.
  const CodecError& error() const;

  // Forgets the message; the next Parse() starts a new one.
  void Reset();

 private:
  ParseState Finish(std::string_view buffer);

  internal::HeadParser core_;
  std::vector<HeaderField> fields_;
  RequestHead head_;
  CodecError error_;
  ParseState state_ = ParseState::kNeedMore;
};

}  // namespace grid::router::http
