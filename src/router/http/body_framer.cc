#include "router/http/body_framer.h"

#include <algorithm>

#include "common/check.h"
#include "router/http/chars.h"

namespace grid::router::http {

using chars::Is;
using chars::IsOws;

BodyFramer::BodyFramer(MessageKind kind, const CodecLimits& limits)
    : kind_(kind), limits_(limits) {}

void BodyFramer::Reset(const BodyFraming& framing) {
  body_kind_ = framing.kind;
  error_ = CodecError();
  remaining_ = framing.kind == BodyKind::kContentLength ? framing.content_length : 0;
  chunk_ = Chunk::kSize;
  size_digit_seen_ = false;
  line_bytes_ = 0;
  trailer_bytes_ = 0;
  body_bytes_ = 0;
  payload_bytes_ = 0;
  chunks_ = 0;
  const bool empty = framing.kind == BodyKind::kNone ||
                     (framing.kind == BodyKind::kContentLength && framing.content_length == 0);
  state_ = empty ? ParseState::kComplete : ParseState::kNeedMore;
}

const CodecError& BodyFramer::error() const {
  GRID_CHECK(state_ == ParseState::kError) << "error() without an error";
  return error_;
}

FrameResult BodyFramer::Fail(HttpError error, size_t body_bytes) {
  body_bytes_ += body_bytes;
  error_ = MakeError(error, kind_);
  state_ = ParseState::kError;
  return FrameResult{state_, body_bytes};
}

FrameResult BodyFramer::Consume(std::string_view data) {
  if (state_ != ParseState::kNeedMore) return FrameResult{state_, 0};
  switch (body_kind_) {
    case BodyKind::kContentLength: {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size()));
      remaining_ -= n;
      body_bytes_ += n;
      payload_bytes_ += n;
      if (remaining_ == 0) state_ = ParseState::kComplete;
      return FrameResult{state_, n};
    }
    case BodyKind::kUntilClose:
    case BodyKind::kTunnel:
      body_bytes_ += data.size();
      payload_bytes_ += data.size();
      return FrameResult{state_, data.size()};
    case BodyKind::kChunked:
      return ConsumeChunked(data);
    case BodyKind::kNone:
      break;
  }
  GRID_UNREACHABLE();
  return FrameResult{};
}

ParseState BodyFramer::FinishAtEof() {
  if (state_ != ParseState::kNeedMore) return state_;
  if (body_kind_ == BodyKind::kUntilClose || body_kind_ == BodyKind::kTunnel) {
    state_ = ParseState::kComplete;
    return state_;
  }
  error_ = MakeError(HttpError::kIncompleteMessage, kind_);
  state_ = ParseState::kError;
  return state_;
}

FrameResult BodyFramer::ConsumeChunked(std::string_view data) {
  size_t i = 0;
  while (i < data.size()) {
    if (chunk_ == Chunk::kData) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, data.size() - i));
      i += n;
      remaining_ -= n;
      payload_bytes_ += n;
      if (remaining_ == 0) chunk_ = Chunk::kDataCr;
      continue;
    }
    const HttpError e = ChunkLineByte(data[i]);
    if (e != HttpError::kNone) return Fail(e, i);
    ++i;
    if (state_ == ParseState::kComplete) break;
  }
  body_bytes_ += i;
  return FrameResult{state_, i};
}

HttpError BodyFramer::ChunkLineByte(char c) {
  switch (chunk_) {
    case Chunk::kDataCr:
      if (c != '\r') return HttpError::kMissingChunkCrlf;
      chunk_ = Chunk::kDataLf;
      return HttpError::kNone;
    case Chunk::kDataLf:
      if (c != '\n') return HttpError::kMissingChunkCrlf;
      chunk_ = Chunk::kSize;
      size_digit_seen_ = false;
      line_bytes_ = 0;
      return HttpError::kNone;
    case Chunk::kSizeLf:
      if (c != '\n') return HttpError::kBareCr;
      ++chunks_;
      if (remaining_ == 0) {
        chunk_ = Chunk::kTrailerLineStart;
      } else {
        chunk_ = Chunk::kData;
      }
      return HttpError::kNone;
    case Chunk::kTrailerLineStart:
    case Chunk::kTrailerName:
    case Chunk::kTrailerValue:
    case Chunk::kTrailerLf:
    case Chunk::kTrailerEndLf:
      return TrailerByte(c);
    case Chunk::kData:
      break;
    default:
      return ChunkSizeLineByte(c);
  }
  GRID_UNREACHABLE();
  return HttpError::kNone;
}

HttpError BodyFramer::ChunkSizeLineByte(char c) {
  if (c == '\n') return HttpError::kBareLf;
  if (c != '\r' && ++line_bytes_ > limits_.max_chunk_size_line_bytes) {
    return HttpError::kChunkLineTooLong;
  }
  switch (chunk_) {
    case Chunk::kSize:
      if (Is(c, chars::kHexDigit)) {
        const uint64_t d = static_cast<uint64_t>(c <= '9' ? c - '0' : chars::Lower(c) - 'a' + 10);
        if (remaining_ > (kMaxBodyLength - d) / 16) return HttpError::kChunkSizeOverflow;
        remaining_ = remaining_ * 16 + d;
        size_digit_seen_ = true;
        return HttpError::kNone;
      }
      if (!size_digit_seen_) return HttpError::kBadChunkSize;
      if (c == ';') {
        chunk_ = Chunk::kExtBeforeName;
      } else if (IsOws(c)) {
        chunk_ = Chunk::kSizeBws;
      } else if (c == '\r') {
        chunk_ = Chunk::kSizeLf;
      } else {
        return HttpError::kBadChunkSize;
      }
      return HttpError::kNone;
    case Chunk::kSizeBws:
      if (IsOws(c)) return HttpError::kNone;
      if (c != ';') return HttpError::kBadChunkSize;
      chunk_ = Chunk::kExtBeforeName;
      return HttpError::kNone;
    case Chunk::kExtBeforeName:
      if (IsOws(c)) return HttpError::kNone;
      if (!Is(c, chars::kTchar)) return HttpError::kBadChunkExtension;
      chunk_ = Chunk::kExtName;
      return HttpError::kNone;
    case Chunk::kExtName:
      if (Is(c, chars::kTchar)) return HttpError::kNone;
      if (IsOws(c)) {
        chunk_ = Chunk::kExtAfterName;
      } else if (c == '=') {
        chunk_ = Chunk::kExtBeforeValue;
      } else if (c == ';') {
        chunk_ = Chunk::kExtBeforeName;
      } else if (c == '\r') {
        chunk_ = Chunk::kSizeLf;
      } else {
        return HttpError::kBadChunkExtension;
      }
      return HttpError::kNone;
    case Chunk::kExtAfterName:
      if (IsOws(c)) return HttpError::kNone;
      if (c == '=') {
        chunk_ = Chunk::kExtBeforeValue;
      } else if (c == ';') {
        chunk_ = Chunk::kExtBeforeName;
      } else {
        return HttpError::kBadChunkExtension;
      }
      return HttpError::kNone;
    case Chunk::kExtBeforeValue:
      if (IsOws(c)) return HttpError::kNone;
      if (c == '"') {
        chunk_ = Chunk::kExtQuoted;
      } else if (Is(c, chars::kTchar)) {
        chunk_ = Chunk::kExtToken;
      } else {
        return HttpError::kBadChunkExtension;
      }
      return HttpError::kNone;
    case Chunk::kExtToken:
      if (Is(c, chars::kTchar)) return HttpError::kNone;
      if (IsOws(c)) {
        chunk_ = Chunk::kExtAfterValueBws;
      } else if (c == ';') {
        chunk_ = Chunk::kExtBeforeName;
      } else if (c == '\r') {
        chunk_ = Chunk::kSizeLf;
      } else {
        return HttpError::kBadChunkExtension;
      }
      return HttpError::kNone;
    case Chunk::kExtQuoted:
      if (c == '"') {
        chunk_ = Chunk::kExtAfterQuoted;
      } else if (c == '\\') {
        chunk_ = Chunk::kExtQuotedPair;
      } else if (!Is(c, chars::kQdtext)) {
        return HttpError::kBadChunkExtension;
      }
      return HttpError::kNone;
    case Chunk::kExtQuotedPair:
      if (!Is(c, chars::kFieldVchar)) return HttpError::kBadChunkExtension;
      chunk_ = Chunk::kExtQuoted;
      return HttpError::kNone;
    case Chunk::kExtAfterQuoted:
      if (IsOws(c)) {
        chunk_ = Chunk::kExtAfterValueBws;
      } else if (c == ';') {
        chunk_ = Chunk::kExtBeforeName;
      } else if (c == '\r') {
        chunk_ = Chunk::kSizeLf;
      } else {
        return HttpError::kBadChunkExtension;
      }
      return HttpError::kNone;
    case Chunk::kExtAfterValueBws:
      if (IsOws(c)) return HttpError::kNone;
      if (c != ';') return HttpError::kBadChunkExtension;
      chunk_ = Chunk::kExtBeforeName;
      return HttpError::kNone;
    default:
      break;
  }
  GRID_UNREACHABLE();
  return HttpError::kNone;
}

HttpError BodyFramer::TrailerByte(char c) {
  if (++trailer_bytes_ > limits_.max_trailer_bytes) return HttpError::kTrailerTooLarge;
  switch (chunk_) {
    case Chunk::kTrailerLineStart:
      if (c == '\r') {
        chunk_ = Chunk::kTrailerEndLf;
      } else if (Is(c, chars::kTchar)) {
        chunk_ = Chunk::kTrailerName;
      } else if (IsOws(c)) {
        return HttpError::kObsFold;
      } else {
        return c == '\n' ? HttpError::kBareLf : HttpError::kBadHeaderName;
      }
      return HttpError::kNone;
    case Chunk::kTrailerName:
      if (Is(c, chars::kTchar)) return HttpError::kNone;
      if (c == ':') {
        chunk_ = Chunk::kTrailerValue;
        return HttpError::kNone;
      }
      if (IsOws(c)) return HttpError::kSpaceBeforeColon;
      return c == '\n' ? HttpError::kBareLf : HttpError::kBadHeaderName;
    case Chunk::kTrailerValue:
      if (c == '\r') {
        chunk_ = Chunk::kTrailerLf;
        return HttpError::kNone;
      }
      if (Is(c, chars::kFieldVchar)) return HttpError::kNone;
      return c == '\n' ? HttpError::kBareLf : HttpError::kBadHeaderValue;
    case Chunk::kTrailerLf:
      if (c != '\n') return HttpError::kBareCr;
      chunk_ = Chunk::kTrailerLineStart;
      return HttpError::kNone;
    case Chunk::kTrailerEndLf:
      if (c != '\n') return HttpError::kBareCr;
      state_ = ParseState::kComplete;
      return HttpError::kNone;
    default:
      break;
  }
  GRID_UNREACHABLE();
  return HttpError::kNone;
}

}  // namespace grid::router::http
