#include "router/http/request_parser.h"

#include <algorithm>

#include "common/check.h"

namespace grid::router::http {

RequestParser::RequestParser(const CodecLimits& limits) : core_(MessageKind::kRequest, limits) {
  fields_.reserve(std::min<size_t>(limits.max_header_count, internal::kInitialFieldCapacity));
}

void RequestParser::Reset() {
  core_.Reset();
  fields_.clear();
  head_ = RequestHead();
  error_ = CodecError();
  state_ = ParseState::kNeedMore;
}

const RequestHead& RequestParser::head() const {
  GRID_CHECK(state_ == ParseState::kComplete) << "head() of an incomplete request";
  return head_;
}

const CodecError& RequestParser::error() const {
  GRID_CHECK(state_ == ParseState::kError) << "error() without an error";
  return error_;
}

ParseState RequestParser::Parse(std::string_view buffer) {
  if (state_ != ParseState::kNeedMore) return state_;
  switch (core_.Parse(buffer)) {
    case ParseState::kNeedMore:
      return ParseState::kNeedMore;
    case ParseState::kError:
      error_ = MakeError(core_.error(), MessageKind::kRequest);
      state_ = ParseState::kError;
      return state_;
    case ParseState::kComplete:
      return Finish(buffer);
  }
  GRID_UNREACHABLE();
  return ParseState::kError;
}

ParseState RequestParser::Finish(std::string_view buffer) {
  const internal::StartLine& s = core_.start_line();
  const internal::FieldFacts& f = core_.facts();
  const bool http11 = s.version == HttpVersion::kHttp11;

  HttpError e = HttpError::kNone;
  if (http11 && f.host_fields == 0) {
    e = HttpError::kMissingHost;
  } else if (const HttpError fe = internal::CheckFraming(f, s.version); fe != HttpError::kNone) {
    e = fe;
  } else if (http11 && f.expect_other) {
    e = HttpError::kUnsupportedExpectation;  // RFC 9110 §10.1.1 (HTTP/1.0 Expect is ignored)
  }
  if (e != HttpError::kNone) {
    error_ = MakeError(e, MessageKind::kRequest);
    state_ = ParseState::kError;
    return state_;
  }

  const char* base = buffer.data();
  core_.BuildFields(buffer, &fields_);
  RequestHead& h = head_;
  h.method_name = std::string_view(base + s.method_begin, s.method_size);
  h.method = s.method;
  h.target = std::string_view(base + s.target_begin, s.target_size);
  h.target_form = s.target_form;
  h.version = s.version;
  h.headers = fields_;
  if (s.target_form == TargetForm::kAbsolute || s.target_form == TargetForm::kAuthority) {
    h.host = std::string_view(base + s.authority_begin, s.authority_size);
  } else {
    h.host = std::string_view(base + f.host_begin, f.host_size);
  }
  if (f.transfer_encoding) {
    h.framing = BodyFraming{BodyKind::kChunked, 0};
  } else if (f.content_length_fields > 0) {
    h.framing = BodyFraming{BodyKind::kContentLength, f.content_length};
  } else {
    h.framing = BodyFraming{BodyKind::kNone, 0};
  }
  h.keep_alive = !f.connection_close && (http11 || f.connection_keep_alive);
  h.upgrade = http11 && f.connection_upgrade && f.upgrade_field;
  h.upgrade_protocols =
      h.upgrade ? std::string_view(base + f.upgrade_begin, f.upgrade_size) : std::string_view();
  h.expect_continue = http11 && f.expect_continue;
  h.connection_names_fields = f.connection_other;
  h.head_bytes = core_.head_bytes();
  state_ = ParseState::kComplete;
  return state_;
}

}  // namespace grid::router::http
