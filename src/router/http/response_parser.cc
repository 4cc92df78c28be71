#include "router/http/response_parser.h"

#include <algorithm>

#include "common/check.h"

namespace grid::router::http {

ResponseParser::ResponseParser(const CodecLimits& limits) : core_(MessageKind::kResponse, limits) {
  fields_.reserve(std::min<size_t>(limits.max_header_count, internal::kInitialFieldCapacity));
}

void ResponseParser::Reset(const ResponseContext& context) {
  core_.Reset();
  context_ = context;
  fields_.clear();
  head_ = ResponseHead();
  error_ = CodecError();
  state_ = ParseState::kNeedMore;
}

const ResponseHead& ResponseParser::head() const {
  GRID_CHECK(state_ == ParseState::kComplete) << "head() of an incomplete response";
  return head_;
}

const CodecError& ResponseParser::error() const {
  GRID_CHECK(state_ == ParseState::kError) << "error() without an error";
  return error_;
}

ParseState ResponseParser::Parse(std::string_view buffer) {
  if (state_ != ParseState::kNeedMore) return state_;
  switch (core_.Parse(buffer)) {
    case ParseState::kNeedMore:
      return ParseState::kNeedMore;
    case ParseState::kError:
      error_ = MakeError(core_.error(), MessageKind::kResponse);
      state_ = ParseState::kError;
      return state_;
    case ParseState::kComplete:
      return Finish(buffer);
  }
  GRID_UNREACHABLE();
  return ParseState::kError;
}

ParseState ResponseParser::Finish(std::string_view buffer) {
  const internal::StartLine& s = core_.start_line();
  const internal::FieldFacts& f = core_.facts();
  const bool http11 = s.version == HttpVersion::kHttp11;
  const uint16_t code = s.status_code;

  HttpError e = internal::CheckFraming(f, s.version);
  if (e == HttpError::kNone && code == 101 && (!context_.upgrade_requested || !http11)) {
    e = HttpError::kUnexpectedSwitchingProtocols;
  }
  if (e != HttpError::kNone) {
    error_ = MakeError(e, MessageKind::kResponse);
    state_ = ParseState::kError;
    return state_;
  }

  // RFC 9112 §6.3, in its order.
  BodyFraming framing;
  bool interim = false;
  if (code == 101) {
    framing.kind = BodyKind::kTunnel;
  } else if (code < 200) {
    interim = true;
  } else if (context_.request_method == Method::kHead || code == 204 || code == 304) {
    // no body; Content-Length and Transfer-Encoding describe the would-be representation
  } else if (context_.request_method == Method::kConnect && code < 300) {
    framing.kind = BodyKind::kTunnel;
  } else if (f.transfer_encoding) {
    framing.kind = BodyKind::kChunked;
  } else if (f.content_length_fields > 0) {
    framing = BodyFraming{BodyKind::kContentLength, f.content_length};
  } else {
    framing.kind = BodyKind::kUntilClose;
  }

  core_.BuildFields(buffer, &fields_);
  ResponseHead& h = head_;
  h.version = s.version;
  h.status_code = code;
  h.reason = std::string_view(buffer.data() + s.reason_begin, s.reason_size);
  h.headers = fields_;
  h.framing = framing;
  h.interim = interim;
  h.keep_alive = framing.kind != BodyKind::kUntilClose && framing.kind != BodyKind::kTunnel &&
                 !f.connection_close && (http11 || f.connection_keep_alive);
  h.connection_names_fields = f.connection_other;
  h.head_bytes = core_.head_bytes();
  state_ = ParseState::kComplete;
  return state_;
}

}  // namespace grid::router::http
