// Helpers for the codec's tests: feeding a parser in different splits and comparing outcomes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "router/http/body_framer.h"
#include "router/http/request_parser.h"
#include "router/http/response_parser.h"

namespace grid::router::http::testing {

// Everything a parse produced, as owned values, so outcomes of different feeds compare.
struct Outcome {
  ParseState state = ParseState::kNeedMore;
  HttpError error = HttpError::kNone;
  uint16_t error_status = 0;
  std::string start;  // "method target version" or "version status reason"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string host;
  BodyKind body = BodyKind::kNone;
  uint64_t content_length = 0;
  bool keep_alive = false;
  bool upgrade = false;
  bool expect_continue = false;
  bool interim = false;
  size_t head_bytes = 0;

  bool operator==(const Outcome&) const = default;
};

inline Outcome Capture(const RequestParser& p, ParseState state) {
  Outcome o;
  o.state = state;
  if (state == ParseState::kError) {
    o.error = p.error().code;
    o.error_status = p.error().status;
  } else if (state == ParseState::kComplete) {
    const RequestHead& h = p.head();
    o.start = std::string(h.method_name) + " " + std::string(h.target) +
              (h.version == HttpVersion::kHttp11 ? " 1.1" : " 1.0");
    for (const HeaderField& f : h.headers) o.headers.emplace_back(f.name, f.value);
    o.host = h.host;
    o.body = h.framing.kind;
    o.content_length = h.framing.content_length;
    o.keep_alive = h.keep_alive;
    o.upgrade = h.upgrade;
    o.expect_continue = h.expect_continue;
    o.head_bytes = h.head_bytes;
  }
  return o;
}

inline Outcome Capture(const ResponseParser& p, ParseState state) {
  Outcome o;
  o.state = state;
  if (state == ParseState::kError) {
    o.error = p.error().code;
    o.error_status = p.error().status;
  } else if (state == ParseState::kComplete) {
    const ResponseHead& h = p.head();
    o.start = std::string(h.version == HttpVersion::kHttp11 ? "1.1 " : "1.0 ") +
              std::to_string(h.status_code) + " " + std::string(h.reason);
    for (const HeaderField& f : h.headers) o.headers.emplace_back(f.name, f.value);
    o.body = h.framing.kind;
    o.content_length = h.framing.content_length;
    o.keep_alive = h.keep_alive;
    o.interim = h.interim;
    o.head_bytes = h.head_bytes;
  }
  return o;
}

// Feeds `input` in one call.
template <typename Parser>
Outcome ParseOneShot(Parser& p, std::string_view input) {
  return Capture(p, p.Parse(input));
}

// Feeds `input` growing by one byte per call, in a string that reallocates as it grows.
template <typename Parser>
Outcome ParseByteAtATime(Parser& p, std::string_view input) {
  std::string buffer;
  ParseState state = ParseState::kNeedMore;
  for (size_t i = 0; i < input.size() && state == ParseState::kNeedMore; ++i) {
    buffer.push_back(input[i]);
    buffer.shrink_to_fit();  // moves the bytes: the parser must not keep pointers
    state = p.Parse(buffer);
  }
  return Capture(p, state);
}

// Feeds `input` cut at the given ascending offsets.
template <typename Parser>
Outcome ParseInPieces(Parser& p, std::string_view input, const std::vector<size_t>& cuts) {
  std::string buffer;
  ParseState state = ParseState::kNeedMore;
  size_t done = 0;
  for (size_t cut : cuts) {
    if (cut <= done || cut > input.size()) continue;
    buffer.append(input.substr(done, cut - done));
    done = cut;
    state = p.Parse(buffer);
    if (state != ParseState::kNeedMore) return Capture(p, state);
  }
  buffer.append(input.substr(done));
  return Capture(p, p.Parse(buffer));
}

// Result of framing a whole body input in pieces of `piece` bytes.
struct FrameOutcome {
  ParseState state = ParseState::kNeedMore;
  HttpError error = HttpError::kNone;
  size_t body_bytes = 0;  // of the input
  uint64_t payload_bytes = 0;
  uint64_t chunks = 0;

  bool operator==(const FrameOutcome&) const = default;
};

inline FrameOutcome FrameInPieces(BodyFramer& f, std::string_view input, size_t piece) {
  FrameOutcome o;
  size_t at = 0;
  while (at < input.size()) {
    const size_t n = std::min(piece, input.size() - at);
    const FrameResult r = f.Consume(input.substr(at, n));
    o.body_bytes += r.body_bytes;
    at += n;
    if (r.state != ParseState::kNeedMore) break;
  }
  o.state = f.state();
  if (o.state == ParseState::kError) o.error = f.error().code;
  o.payload_bytes = f.payload_bytes();
  o.chunks = f.chunks();
  return o;
}

}  // namespace grid::router::http::testing
