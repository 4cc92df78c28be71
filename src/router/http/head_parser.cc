#include "router/http/head_parser.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/check.h"
#include "router/http/chars.h"

namespace grid::router::http::internal {
namespace {

using chars::Is;
using chars::IsOws;

// Parses "HTTP/" DIGIT "." DIGIT.
HttpError ParseVersion(std::string_view v, HttpVersion* version) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
      v[7] < '0' || v[7] > '9') {
    return HttpError::kBadVersion;
  }
  if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) return HttpError::kUnsupportedVersion;
  *version = v[7] == '1' ? HttpVersion::kHttp11 : HttpVersion::kHttp10;
  return HttpError::kNone;
}

Method ClassifyMethod(std::string_view m) {
  switch (m.size()) {
    case 3:
      if (m == "GET") return Method::kGet;
      if (m == "PUT") return Method::kPut;
      break;
    case 4:
      if (m == "HEAD") return Method::kHead;
      if (m == "POST") return Method::kPost;
      break;
    case 5:
      if (m == "PATCH") return Method::kPatch;
      if (m == "TRACE") return Method::kTrace;
      break;
    case 6:
      if (m == "DELETE") return Method::kDelete;
      break;
    case 7:
      if (m == "CONNECT") return Method::kConnect;
      if (m == "OPTIONS") return Method::kOptions;
      break;
    default:
      break;
  }
  return Method::kOther;
}

// Splits a comma-separated list and calls f(element) with each element trimmed of OWS (empty
// elements included).
template <typename F>
void ForEachListElement(std::string_view list, F&& f) {
  for (;;) {
    const size_t comma = list.find(',');
    f(chars::TrimOws(list.substr(0, comma)));
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

bool ValidAuthority(std::string_view s, bool require_port) {
  for (char c : s) {
    if (!Is(c, chars::kHostChar)) return false;
  }
  if (!require_port) return true;
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size()) return false;
  if (s.find(']', colon) != std::string_view::npos) return false;
  for (char c : s.substr(colon + 1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

HttpError CheckFraming(const FieldFacts& f, HttpVersion version) {
  if (!f.transfer_encoding) return HttpError::kNone;
  if (f.content_length_fields > 0) return HttpError::kContentLengthWithTransferEncoding;
  if (version == HttpVersion::kHttp10) return HttpError::kTransferEncodingInHttp10;
  if (f.te_malformed || !f.te_final_chunked) return HttpError::kTransferEncodingNotChunked;
  if (f.te_codings > 1) return HttpError::kUnsupportedTransferCoding;
  return HttpError::kNone;
}

HeadParser::HeadParser(MessageKind kind, const CodecLimits& limits) : kind_(kind), limits_(limits) {
  const uint64_t max_head = uint64_t{limits.max_request_line_bytes} + limits.max_status_line_bytes +
                            2 * (limits.max_leading_empty_lines + 1) + limits.max_header_bytes;
  GRID_CHECK(max_head < std::numeric_limits<uint32_t>::max()) << "head limits exceed 4 GiB";
  fields_.reserve(std::min(limits.max_header_count, kInitialFieldCapacity));
}

void HeadParser::Reset() {
  state_ = ParseState::kNeedMore;
  phase_ = Phase::kStartLine;
  error_ = HttpError::kNone;
  scan_pos_ = 0;
  line_start_ = 0;
  fields_begin_ = 0;
  leading_empty_lines_ = 0;
  head_bytes_ = 0;
  start_ = StartLine();
  facts_ = FieldFacts();
  fields_.clear();
}

ParseState HeadParser::Fail(HttpError error) {
  error_ = error;
  state_ = ParseState::kError;
  return state_;
}

ParseState HeadParser::Parse(std::string_view buffer) {
  if (state_ != ParseState::kNeedMore) return state_;
  GRID_CHECK(buffer.size() >= scan_pos_) << "the head buffer shrank";
  const bool request = kind_ == MessageKind::kRequest;
  const char* const base = buffer.data();
  for (;;) {
    // The LF ending the current line must lie before limit_end.
    size_t limit_end;
    HttpError limit_error;
    if (phase_ == Phase::kStartLine) {
      limit_end = line_start_ + 2 +
                  (request ? limits_.max_request_line_bytes : limits_.max_status_line_bytes);
      limit_error = request ? HttpError::kRequestLineTooLong : HttpError::kStatusLineTooLong;
    } else {
      limit_end = fields_begin_ + limits_.max_header_bytes;
      limit_error = HttpError::kHeaderSectionTooLarge;
    }
    const size_t search_end = std::min(buffer.size(), limit_end);
    const void* lf_ptr = scan_pos_ < search_end
                             ? std::memchr(base + scan_pos_, '\n', search_end - scan_pos_)
                             : nullptr;
    if (lf_ptr == nullptr) {
      // Refused as soon as the bytes so far can not end in time: the byte before limit_end
      // must be the LF, and the one before it the CR.
      if (buffer.size() >= limit_end ||
          (buffer.size() == limit_end - 1 && base[limit_end - 2] != '\r')) {
        return Fail(limit_error);
      }
      scan_pos_ = search_end;
      return ParseState::kNeedMore;
    }
    const size_t lf = static_cast<size_t>(static_cast<const char*>(lf_ptr) - base);
    scan_pos_ = lf + 1;
    if (lf == line_start_ || base[lf - 1] != '\r') return Fail(HttpError::kBareLf);
    const auto begin = static_cast<uint32_t>(line_start_);
    const std::string_view line(base + line_start_, lf - 1 - line_start_);
    line_start_ = lf + 1;

    HttpError e;
    if (phase_ == Phase::kStartLine) {
      if (line.empty()) {
        if (request && leading_empty_lines_ < limits_.max_leading_empty_lines) {
          ++leading_empty_lines_;
          continue;
        }
        return Fail(request ? HttpError::kBadRequestLine : HttpError::kBadStatusLine);
      }
      e = request ? ParseRequestLine(line, begin) : ParseStatusLine(line, begin);
      phase_ = Phase::kFields;
      fields_begin_ = line_start_;
    } else {
      if (line.empty()) {
        head_bytes_ = line_start_;
        state_ = ParseState::kComplete;
        return state_;
      }
      e = ParseFieldLine(line, begin);
    }
    if (e != HttpError::kNone) {
      // A CR inside a line is the first thing wrong with it, whatever the parse tripped on.
      return Fail(line.find('\r') != std::string_view::npos ? HttpError::kBareCr : e);
    }
  }
}

HttpError HeadParser::ParseRequestLine(std::string_view line, uint32_t begin) {
  // method SP request-target SP HTTP-version, single spaces.
  size_t i = 0;
  while (i < line.size() && Is(line[i], chars::kTchar)) ++i;
  if (i == line.size()) return HttpError::kBadRequestLine;
  if (!IsOws(line[i])) return HttpError::kBadMethod;
  if (i == 0 || line[i] != ' ') return HttpError::kBadRequestLine;
  const std::string_view method = line.substr(0, i);
  const size_t target_begin = i + 1;
  size_t j = target_begin;
  while (j < line.size() && Is(line[j], chars::kTargetChar)) ++j;
  if (j == line.size() || (IsOws(line[j]) && (j == target_begin || line[j] == '\t'))) {
    return HttpError::kBadRequestLine;
  }
  if (line[j] != ' ') return HttpError::kBadTarget;
  const std::string_view target = line.substr(target_begin, j - target_begin);
  const std::string_view version = line.substr(j + 1);
  if (version.find(' ') != std::string_view::npos) return HttpError::kBadRequestLine;
  const HttpError ve = ParseVersion(version, &start_.version);
  if (ve != HttpError::kNone) return ve;

  start_.method_begin = begin;
  start_.method_size = static_cast<uint32_t>(method.size());
  start_.method = ClassifyMethod(method);
  start_.target_begin = begin + static_cast<uint32_t>(target_begin);
  start_.target_size = static_cast<uint32_t>(target.size());

  if (start_.method == Method::kConnect) {
    // authority-form only (RFC 9112 §3.2.3); userinfo ('@') is not a host character.
    if (!ValidAuthority(target, /*require_port=*/true)) return HttpError::kBadTarget;
    start_.target_form = TargetForm::kAuthority;
    start_.authority_begin = start_.target_begin;
    start_.authority_size = start_.target_size;
    return HttpError::kNone;
  }
  if (target[0] == '/') {
    start_.target_form = TargetForm::kOrigin;
    return HttpError::kNone;
  }
  if (target == "*") {
    if (start_.method != Method::kOptions) return HttpError::kBadTarget;
    start_.target_form = TargetForm::kAsterisk;
    return HttpError::kNone;
  }
  // absolute-form: scheme "://" authority [ path-abempty [ "?" query ] ]
  size_t s = 0;
  if (!((target[0] >= 'a' && target[0] <= 'z') || (target[0] >= 'A' && target[0] <= 'Z'))) {
    return HttpError::kBadTarget;
  }
  while (s < target.size() && Is(target[s], chars::kSchemeChar)) ++s;
  if (target.substr(s, 3) != "://") return HttpError::kBadTarget;
  const size_t authority_begin = s + 3;
  size_t a = authority_begin;
  while (a < target.size() && target[a] != '/' && target[a] != '?') ++a;
  const std::string_view authority = target.substr(authority_begin, a - authority_begin);
  if (authority.empty() || !ValidAuthority(authority, /*require_port=*/false)) {
    return HttpError::kBadTarget;
  }
  start_.target_form = TargetForm::kAbsolute;
  start_.authority_begin = start_.target_begin + static_cast<uint32_t>(authority_begin);
  start_.authority_size = static_cast<uint32_t>(authority.size());
  return HttpError::kNone;
}

HttpError HeadParser::ParseStatusLine(std::string_view line, uint32_t begin) {
  // HTTP-version SP 3DIGIT [ SP reason-phrase ]; a missing SP before an empty reason is
  // accepted.
  if (line.size() < 12 || line.substr(0, 5) != "HTTP/" || line[8] != ' ') {
    return HttpError::kBadStatusLine;
  }
  const HttpError ve = ParseVersion(line.substr(0, 8), &start_.version);
  if (ve != HttpError::kNone) return ve;
  uint16_t code = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return HttpError::kBadStatusCode;
    code = static_cast<uint16_t>(code * 10 + (line[i] - '0'));
  }
  if (code < 100 || code > 599) return HttpError::kBadStatusCode;
  start_.status_code = code;
  if (line.size() == 12) return HttpError::kNone;
  if (line[12] != ' ') return HttpError::kBadStatusCode;
  const std::string_view reason = line.substr(13);
  if (chars::FirstNonFieldVchar(reason.data(), reason.size()) != reason.size()) {
    return HttpError::kBadStatusLine;
  }
  start_.reason_begin = begin + 13;
  start_.reason_size = static_cast<uint32_t>(reason.size());
  return HttpError::kNone;
}

HttpError HeadParser::ParseFieldLine(std::string_view line, uint32_t begin) {
  if (IsOws(line[0])) return HttpError::kObsFold;
  if (fields_.size() >= limits_.max_header_count) return HttpError::kTooManyHeaders;
  size_t i = 0;
  while (i < line.size() && Is(line[i], chars::kTchar)) ++i;
  if (i == line.size()) return HttpError::kBadHeaderName;
  if (line[i] != ':')
    return IsOws(line[i]) ? HttpError::kSpaceBeforeColon : HttpError::kBadHeaderName;
  if (i == 0) return HttpError::kBadHeaderName;
  size_t v = i + 1;
  size_t end = line.size();
  while (v < end && IsOws(line[v])) ++v;
  while (end > v && IsOws(line[end - 1])) --end;
  const std::string_view value = line.substr(v, end - v);
  if (chars::FirstNonFieldVchar(value.data(), value.size()) != value.size()) {
    return HttpError::kBadHeaderValue;
  }
  const std::string_view name = line.substr(0, i);
  const uint32_t value_begin = begin + static_cast<uint32_t>(v);
  fields_.push_back(
      FieldSpan{begin, static_cast<uint32_t>(i), value_begin, static_cast<uint32_t>(value.size())});
  return ApplyField(name, value, value_begin);
}

HttpError HeadParser::ApplyField(std::string_view name, std::string_view value,
                                 uint32_t value_begin) {
  using chars::EqualsLower;
  const bool request = kind_ == MessageKind::kRequest;
  switch (name.size()) {
    case 4:
      if (request && EqualsLower(name, "host")) {
        if (++facts_.host_fields > 1) return HttpError::kDuplicateHost;
        if (!ValidAuthority(value, /*require_port=*/false)) return HttpError::kBadHost;
        facts_.host_begin = value_begin;
        facts_.host_size = static_cast<uint32_t>(value.size());
      }
      break;
    case 6:
      if (request && EqualsLower(name, "expect")) {
        if (EqualsLower(value, "100-continue")) {
          facts_.expect_continue = true;
        } else {
          facts_.expect_other = true;
        }
      }
      break;
    case 7:
      if (EqualsLower(name, "upgrade") && !facts_.upgrade_field && !value.empty()) {
        facts_.upgrade_field = true;
        facts_.upgrade_begin = value_begin;
        facts_.upgrade_size = static_cast<uint32_t>(value.size());
      }
      break;
    case 10:
      if (EqualsLower(name, "connection")) {
        ForEachListElement(value, [this](std::string_view token) {
          if (token.empty()) return;
          if (EqualsLower(token, "close")) {
            facts_.connection_close = true;
          } else if (EqualsLower(token, "keep-alive")) {
            facts_.connection_keep_alive = true;
          } else if (EqualsLower(token, "upgrade")) {
            facts_.connection_upgrade = true;
          } else {
            facts_.connection_other = true;
          }
        });
      }
      break;
    case 14:
      if (EqualsLower(name, "content-length")) {
        if (++facts_.content_length_fields > 1) return HttpError::kDuplicateContentLength;
        if (value.empty()) return HttpError::kBadContentLength;
        uint64_t n = 0;
        for (char c : value) {
          if (c < '0' || c > '9') return HttpError::kBadContentLength;
          const auto d = static_cast<uint64_t>(c - '0');
          if (n > (kMaxBodyLength - d) / 10) return HttpError::kContentLengthOverflow;
          n = n * 10 + d;
        }
        facts_.content_length = n;
      }
      break;
    case 17:
      if (EqualsLower(name, "transfer-encoding")) {
        facts_.transfer_encoding = true;
        ForEachListElement(value, [this](std::string_view coding) {
          if (coding.empty() || facts_.te_final_chunked) facts_.te_malformed = true;
          if (coding.empty()) return;
          ++facts_.te_codings;
          facts_.te_final_chunked = EqualsLower(coding, "chunked");
        });
      }
      break;
    default:
      break;
  }
  return HttpError::kNone;
}

void HeadParser::BuildFields(std::string_view buffer, std::vector<HeaderField>* out) const {
  GRID_CHECK(state_ == ParseState::kComplete);
  GRID_CHECK(buffer.size() >= head_bytes_) << "the head buffer shrank";
  out->clear();
  const char* base = buffer.data();
  for (const FieldSpan& f : fields_) {
    out->push_back(HeaderField{std::string_view(base + f.name_begin, f.name_size),
                               std::string_view(base + f.value_begin, f.value_size)});
  }
}

}  // namespace grid::router::http::internal
